package passwd

import (
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// cryptVectors were made with glibc/libxcrypt crypt(3) through perl:
// perl -e 'print crypt($password, $setting)'.
var cryptVectors = []struct{ password, hash string }{
	{"", "$1$saltstr$sqlrZPkdz3TcADS1CIxiU."},
	{"", "$1$ab$rn6aQS/o7141mj179E/zA."},
	{"", "$5$saltstring$FdNfA4gXqvCeO6iZs7G/.wwwoywYZqo0l1pwmfWaBA7"},
	{"", "$5$rounds=1000$short$9rs63TM4j6doEhq2MAUYxnS5Mc/aeEhOVfpnwHTpz6D"},
	{"", "$5$rounds=5000$toolongsaltstrin$j0tlfs3Uvgkhrj5D9cwNx5hp1.3ceRT.Q6t8bmRgfq9"},
	{"", "$6$saltstring$kyGrqt6gmjAdtFLPrflEFifSYLCWWq1pyx95SvqinLDy2UHmj0sTF0MSLMwxPFZc3tu5kQckI8fks0zOPda3n1"},
	{"", "$6$rounds=1234$a$C3tYmYZ4SZ9dwd/5YYYXux4byGZvzn8r71.RFcgGUTBDdf0kagIWXg8LKi8.qaFZaLrOPk4WU14C/aRU/RQc70"},
	{"", "$6$$/chiBau24cE26QQVW3IfIe68Xu5.JQ4E8Ie7lcRLwqxO5cxGuBhqF2HmTL.zWJ9zjChg3yJYFXeGBQ2y3Ba1d1"},
	{"a", "$1$saltstr$oXjUaCdZwDmNLakWAHJ57."},
	{"a", "$1$ab$NM4FR4Dl/CzoTSJTd3YJ3."},
	{"a", "$5$saltstring$7cz4bTeQ7MnNssphNhFVrITtuJYY/1tdvLL2uzLvOk8"},
	{"a", "$5$rounds=1000$short$d54wru8d70L00hRKpuVP5j1CwpjR/Sr.f8IdsBMUx5B"},
	{"a", "$5$rounds=5000$toolongsaltstrin$Y5wGGKUH2v6z1saSwcVfFuvi2xIrSi6slnw8Ye/8aB9"},
	{"a", "$6$saltstring$MO53nAXQUKXVLlsbiXyPgMsR6q10N7eF7sPvanwdXnEeCj5kE3eYaRvFv0wVW1UZ4SnNTzc1v4OCOq1ASDQZY0"},
	{"a", "$6$rounds=1234$a$0bAhkue6yULvPu4ywlD4Rk1s1JEc/ZZIHpEykXUF9yHiZtKsPH/D.rV7xMX2F1x3SYnUEyadRrwOl25C1aCIW0"},
	{"a", "$6$$ek/ucQg0IM8SQLyD2D66mpoW0vAF26eA0/pqoN95V.F0nZh1IFuENNo0OikacRkDBk5frNqziMYMdVVrQ0o.51"},
	{"hello", "$1$saltstr$I3KjOc8Q5ScMqcCwv8.aL/"},
	{"hello", "$1$ab$GG.jb7EqbyCQUXKGIbIxc0"},
	{"hello", "$5$saltstring$4mLzDd7PmpYGnmV6HHYAR6tJydOUyhkrRSQDy8q2eK8"},
	{"hello", "$5$rounds=1000$short$FfmNiwZMta4T4olN3GCwb/uzKP0TED/dn8tUbCZcGQ9"},
	{"hello", "$5$rounds=5000$toolongsaltstrin$WTgCiziuKAFphAxOVAMTpslazlD8vDaLhnD3zU8W1B4"},
	{"hello", "$6$saltstring$FAGYDyoYriJZZozrqxKlj3e8sB/i7oiBKr0IsSILeeFjOstTzTN7VBrJXtFNTHuRzUnhy.z43X6Jd3KbHZ.me/"},
	{"hello", "$6$rounds=1234$a$3osTz.ioLeFa6ycRlt8FF28ntWGccgJ6Rf.ZzdZb/FyJhZKvveBBiiSOEzw4yhlOcV86Zs4TtPU3lTXdp5OWJ/"},
	{"hello", "$6$$8E8LfwilfZ5LGh4IJH.CRzu9SqEBIk11xcvH1HL2h7nPXSOL41SgqNeOe1lSKb0D0r.6tMA2NFig55Fr3bO1V0"},
	{"0123456789abcde", "$1$saltstr$lVrgORTqeQO5.nA6bCt3S1"},
	{"0123456789abcde", "$1$ab$Zi9BZ8iqj5JG5z7uZd1vf1"},
	{"0123456789abcde", "$5$saltstring$rJzyhzhJrNDE6B0arrzeK0FXPUx5snkYccNWx04lyd0"},
	{"0123456789abcde", "$5$rounds=1000$short$mYQqs.HhXDQkRKCzAOEwK4WiNEKSiZd1wpI55hnDiF4"},
	{"0123456789abcde", "$5$rounds=5000$toolongsaltstrin$56.N7DrUafgx79asJSHcA/0Hj1ltA.cBzBQYdYvjog4"},
	{"0123456789abcde", "$6$saltstring$iI6CLkbp1fDejsPUrOy/fLyEboVYjJcQ8O84FwiqElgLUixctU6eE3cZKIsNn/lwRsHr0kA2Yd.tOVWUcSn1o0"},
	{"0123456789abcde", "$6$rounds=1234$a$yXiJ7i5KlU8MZTSDNEdC76aHHQbMcRZ4liMfY5TCAP3zxdT0/umDWauh/X/nvwjKBhzTdtJwYUaJN3FddWzB3/"},
	{"0123456789abcde", "$6$$9dGE6M0u1ABfam1bHQGjM8I0d/6OgmfqYtWFBmHBMF1RsCg3WyKtl7TCG1qzHZeZp8dczInypxJ59mCnLpKb./"},
	{"0123456789abcdef", "$1$saltstr$2fy8D3LQwqYl/QFb/7nn.."},
	{"0123456789abcdef", "$1$ab$KPbsrH8h5k2KfaQeRBFJY/"},
	{"0123456789abcdef", "$5$saltstring$3wqVCLY9iB2MgY28k6isi.eobd89IckZ3j9EQpljMt8"},
	{"0123456789abcdef", "$5$rounds=1000$short$W/zQW5T7c61xWC6YTpEhbXjpJpd06rZC3sYJUgJn4b2"},
	{"0123456789abcdef", "$5$rounds=5000$toolongsaltstrin$vRNMwq7ceFaMxYsAlIU8Z.kaAsMQrLkaYBhy/bS/y/9"},
	{"0123456789abcdef", "$6$saltstring$/VmDyyvk/GK4GaYy.EhikWmnp/r8024Rmml2/R4v9uaiY.t/hy4BCTbhTbB7FTGTmbT7SbFh56TD66U1bipq5/"},
	{"0123456789abcdef", "$6$rounds=1234$a$xb00PcSQXPlpamASke8UDOrdoU9G5nlY8eaGdeMDXpy5ZuIXjGRYO4GJTzbBwUUPH2.ZvAdPLO3FW9kNBsCHw."},
	{"0123456789abcdef", "$6$$OYwX9EQ/XfhIoGFhPQZWnOH5A2Hrwhu.FmhB5a0roDXNaTsCIurepkOW/0IPSdw/DLZ0Z5nOKGg69VwrO0kAG0"},
	{"0123456789abcdef0", "$1$saltstr$25At2kPj4k24Z7FtwsKvG1"},
	{"0123456789abcdef0", "$1$ab$OjK3U3awB8PLmyLCpnrP80"},
	{"0123456789abcdef0", "$5$saltstring$Z31bMaaj7iuZv1Rk6QYzkDUyjOLwLoJo78YrMD2tf47"},
	{"0123456789abcdef0", "$5$rounds=1000$short$SRDBzTqdlZOtVpCYAqmLr6Dcz7a6yCBFyKCrIOIixRB"},
	{"0123456789abcdef0", "$5$rounds=5000$toolongsaltstrin$Ka.gy04ES/B4HFFH9McXTDBR2GA8Bd8AQuqY8o5ubJ7"},
	{"0123456789abcdef0", "$6$saltstring$PpX/ZLOY1PnRMMEG3HO3gwXADcpWBhieFBlThUCI/2zsgUVMT89gBnFz.jm2rPDblJ60jyzwGEQl8wcIayQPO0"},
	{"0123456789abcdef0", "$6$rounds=1234$a$eb5NU8lvv9DWOrbaNQd2wPk3O3lcFXUO5N2NnkvPmBjjXENj4CZwCD50as7BmJumlzKIHsIh/4Jb0k9BH7BaI0"},
	{"0123456789abcdef0", "$6$$eK3ZVV50pwRXdGrDY4zmx4khDaX/HnzS2PEx7YOX5/Fgh1C54qzT63T4W9Fjq/04oke/aYpas8FXXhoZO/ae71"},
	{"pässwörd with spaces", "$1$saltstr$uZvNRO19ZARVcZa4LeAJN1"},
	{"pässwörd with spaces", "$1$ab$hD3dqXD1Qvhv0qL2oXFQO."},
	{"pässwörd with spaces", "$5$saltstring$eGiQghQrEcB59krvJ5HAjtAkfAQfS0MxxR7d2A9kfX5"},
	{"pässwörd with spaces", "$5$rounds=1000$short$hHF5Sx3FbvNGkXXqKIn2zasQtUHYWp9wG30ExA7AHV/"},
	{"pässwörd with spaces", "$5$rounds=5000$toolongsaltstrin$0Z8s7WPgFXB9IwHEjvJ2BdR.MO1iIC8.k2qNIdiQ.e8"},
	{"pässwörd with spaces", "$6$saltstring$m0a5BkqIfcSRDNLa.Wi1ZCpRxIe9Qx5x3M4qrZCMzCgWuJNeTRpn1MD0h8duuX4KoZnZv4M7J.mU8/WVhbnOq."},
	{"pässwörd with spaces", "$6$rounds=1234$a$PhAKOmnkv2DVZQ/ASZBTDbVIQJn0bWychmpHEr9Rdl0qEpE1AmYC.Nth5g5XAqvEqOLI/Os/3dddm0ndNxyYB."},
	{"pässwörd with spaces", "$6$$j5mdT.RjFEZEbiVFZTHJUQWHuc/9LWqO9QzpLdV6K7utf5Woxs33LjPeZsHUMmxJ9vPM4GvYMIx22EocNi9kv0"},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$1$saltstr$nxs12CAcqsuqL5DzcISpW0"},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$1$ab$xYxcg6Ku8Fq4wHdUunBv1."},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$5$saltstring$D1DsTGKixUiITWGe4c3jtSicDXvgr6h50agFIGXAx6/"},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$5$rounds=1000$short$LSHH5xqWqHrLfDghEVeUVPr9vIEQNOvBwUSD5Z85cB2"},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$5$rounds=5000$toolongsaltstrin$nHy3oaQxDt8X3fJ.XNRavvHReqdEVq9sfIc5wViEmc4"},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$6$saltstring$3erWN/n45R1SsGcJ7NRlQaFuHPXhHClKZQDKfh/jWEbW0llkR4iwRKYjP1Ogpd7h/U.ZdZIswbqcSiRTQaqaS1"},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$6$rounds=1234$a$vfCn84Cbh8o6yBZgTimVU8wHy3x0boqAUB5XOomkVU4t91UOH.TLvAmC8nX01c5xdBdWWyl1ikzGRSjpCXgBF1"},
	{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "$6$$SANkhIiQJCVsb8OMEb77/42sYO6q2lYLlfuO7WE1QR0TNf/NTCKv/P5eBmnAQmkSVFIPt1JhhltVPikZR/MaR0"},
	// Drepper's specification's own examples.
	{"Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
	{"Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
}

func TestCryptVectors(t *testing.T) {
	for _, v := range cryptVectors {
		got, err := cryptHash(v.hash, v.password)
		if err != nil || got != v.hash {
			t.Errorf("crypt(%q, %q) = %q, %v", v.password, v.hash, got, err)
		}
		if !Verify("{CRYPT}"+v.hash, v.password) {
			t.Errorf("Verify {CRYPT}%s %q = false", v.hash, v.password)
		}
		if Verify("{crypt}"+v.hash, v.password+"x") {
			t.Errorf("Verify {CRYPT}%s with a wrong password = true", v.hash)
		}
	}
}

// slappasswd output for "hello world".
var schemeVectors = []string{
	"{SSHA}zboyvvUiEWW/LjpcrIhdG9LL/GPPlyRt",
	"{SHA}Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
	"{MD5}XrY7u+Ae7tCTyyK7j1rNww==",
	"{SMD5}oos814fgnN9mUysC42A8auBhXM4=",
	"{SSHA512}wHfmSCG+PaAPHgg3hW84qIt8k9DvsfbRvOND6Iw9AymPqKdf4m1JBLrJWEDnN8LN11VN3DGk48pwFwxsTKc6P09gbG4Vo9PB",
	"{CRYPT}$6$GViaegQGV.LGk7mT$0jHs40PYhTscNkPYnarRKHWcYidaTVYfuecKhz9cAYQbkKu5vHr8TEwwFEqoaA8NvYCskt3inti4VkbNGLSIJ1",
	"hello world",
	"{CLEARTEXT}hello world",
}

func TestSchemes(t *testing.T) {
	vectors := append([]string{}, schemeVectors...)
	vectors[5] = "{CRYPT}" + mustCrypt(t, "$6$GViaegQGV.LGk7mT$", "hello world")
	b, err := bcrypt.GenerateFromPassword([]byte("hello world"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	vectors = append(vectors, "{CRYPT}"+string(b))
	for _, v := range vectors {
		if !Verify(v, "hello world") {
			t.Errorf("Verify(%q, right) = false", v)
		}
		for _, wrong := range []string{"", "hello worl", "hello world ", "Hello world"} {
			if Verify(v, wrong) {
				t.Errorf("Verify(%q, %q) = true", v, wrong)
			}
		}
	}
}

func mustCrypt(t *testing.T, setting, pw string) string {
	h, err := cryptHash(setting, pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestMalformed(t *testing.T) {
	for _, v := range []string{"{SSHA}", "{SSHA}!!!", "{SHA}YWJj", "{CRYPT}", "{CRYPT}$7$x$y", "{CRYPT}$6$rounds=x$s$h", "{NOPE}hello world", "{CRYPT}$2y$bad"} {
		if Verify(v, "hello world") || Verify(v, "") {
			t.Errorf("Verify(%q) matched", v)
		}
	}
	if s, d := split("{ssha}x"); s != "SSHA" || d != "x" {
		t.Errorf("split({ssha}x) = %q, %q", s, d)
	}
	if s, d := split("plain"); s != "" || d != "plain" {
		t.Errorf("split(plain) = %q, %q", s, d)
	}
}

// TestAgainstSystem cross-checks random-ish inputs with the system's
// crypt(3) (through perl) and slappasswd, where installed.
func TestAgainstSystem(t *testing.T) {
	perl, err := exec.LookPath("perl")
	if err != nil {
		t.Skip("perl not installed")
	}
	passwords := []string{"p", "correct horse battery staple", strings.Repeat("ab", 40), "ü€𝄞"}
	settings := []string{"$1$qwertyui$", "$5$rounds=1001$Zz9./$", "$6$0123456789abcdef$", "$5$x$", "$6$rounds=2000$s$"}
	for _, p := range passwords {
		for _, s := range settings {
			out, err := exec.Command(perl, "-e", "print crypt($ARGV[0], $ARGV[1])", p, s).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := mustCrypt(t, s, p); got != string(out) {
				t.Errorf("crypt(%q, %q) = %q, system %q", p, s, got, out)
			}
		}
	}
	sp, err := exec.LookPath("slappasswd")
	if err != nil {
		t.Log("slappasswd not installed; skipping that part")
		return
	}
	for _, scheme := range []string{"{SSHA}", "{SHA}", "{SMD5}", "{MD5}"} {
		out, err := exec.Command(sp, "-h", scheme, "-s", "s3cr3t pw").Output()
		if err != nil {
			t.Fatal(err)
		}
		stored := strings.TrimSpace(string(out))
		if !Verify(stored, "s3cr3t pw") || Verify(stored, "s3cr3t") {
			t.Errorf("slappasswd %s: %q", scheme, stored)
		}
	}
}

// FuzzVerify checks that no stored value makes Verify panic.
func FuzzVerify(f *testing.F) {
	for _, v := range schemeVectors {
		f.Add(v, "hello world")
	}
	f.Add("{CRYPT}$5$rounds=", "x")
	f.Fuzz(func(t *testing.T, stored, password string) {
		if strings.Contains(stored, "rounds=") {
			return // large round counts are slow, not wrong
		}
		Verify(stored, password)
	})
}

func TestHash(t *testing.T) {
	for _, scheme := range []string{"", "{CLEARTEXT}", "{SHA}", "{SSHA}", "{CRYPT}"} {
		h, err := Hash(scheme, "pä ss")
		if err != nil {
			t.Fatal(err)
		}
		if !Verify(h, "pä ss") || Verify(h, "pä s") {
			t.Errorf("Hash(%s) = %q does not verify", scheme, h)
		}
	}
	if _, err := Hash("{NOPE}", "x"); err == nil {
		t.Error("unknown scheme accepted")
	}
}
