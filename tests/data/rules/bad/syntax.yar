// A rule that does not compile: the condition names a string never
// defined. vigil must refuse it with the compiler's FILE:LINE: message.
rule Broken
{
	strings:
		$a = "x"
	condition:
		$b
}
