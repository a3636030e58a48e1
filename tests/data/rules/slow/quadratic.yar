// A pathological rule for vigil's timeout test: a loop over every byte
// pair, quadratic in the size of what is scanned.
rule Quadratic
{
	condition:
		for all i in (0..filesize) : (
			for all j in (0..filesize) : (uint8(i) != 0xff or uint8(j) != 0xfe)
		)
}
