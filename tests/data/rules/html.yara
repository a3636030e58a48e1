// Test rule for vigil: a credential form posting to an outside host. The
// message sends the HTML quoted-printable (href=3D"..."), so the string is
// only there once the body is decoded.
rule Credential_Form : phish
{
	strings:
		$form = "<form action=\"https://login.parliament-secure.example/" nocase
	condition:
		$form
}
