/*
 * Test rule for vigil: a marker string that only exists once the attachment
 * is decoded (the message carries it base64-encoded). Tags and a name with
 * upper case and '_' to test the finding id.
 */
rule Invoice_Dropper : maldoc apt31
{
	meta:
		description = "vigil test: marker inside a decoded attachment"
	strings:
		$marker = "VIGIL-TEST-DROPPER-7f3a"
	condition:
		$marker
}
