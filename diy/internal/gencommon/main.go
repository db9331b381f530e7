// Command gencommon writes diy/common_passwords.txt: the passwords of at
// least 8 characters that attackers try first. It is built offline from
// well-known base words, number runs and keyboard walks, combined with the
// suffixes and substitutions people add to satisfy composition rules (the
// shapes that dominate public breach corpora). Entries are lower-case;
// diy compares case-insensitively.
//
//	go generate ./diy
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// Whole passwords, any length (those under 8 characters only seed variants).
var bases = strings.Fields(`
password passwort passw0rd p@ssword p@ssw0rd pass pass123 passpass secret letmein welcome welcome1
qwerty qwertz azerty qwertyuiop qwertyui asdfgh asdfghjk asdfghjkl zxcvbn zxcvbnm qazwsx qazwsxedc
1qaz2wsx 1qaz2wsx3edc zaq12wsx zaq1zaq1 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4 q1w2e3r4t5 qwer1234 asdf1234
abc123 abcd1234 abcdefgh abcdefg abcdef 123abc a1b2c3d4 aa123456 aaaaaaaa qweqwe asdasd zxczxc qwe123 qweasd
qweasdzxc asdqwe123 qwerasdf iloveyou iloveu loveyou lovelove ilovegod trustno1 admin administrator root
toor changeme default guest user test tester testing master login access shadow sunshine princess
dragon monkey football baseball basketball soccer hockey tennis golf golfer superman batman spiderman
starwars pokemon minecraft fortnite roblox naruto sasuke pikachu mario zelda nintendo playstation xbox
michael jennifer jessica ashley amanda daniel joshua matthew andrew christopher anthony william thomas
robert charlie jordan hunter taylor nicole michelle samantha melissa elizabeth jasmine natasha victoria
hannah madison jackson justin brandon tyler austin cameron kevin steven jason richard joseph george
maggie buster tigger ginger pepper bailey lucky cookie sparky snoopy rocky max daisy molly bella
chocolate cheese banana orange apple cherry peaches pumpkin strawberry coffee summer winter autumn spring
freedom liberty america canada london paris berlin mexico brazil chicago boston dallas texas florida
california newyork jesus christ jesuschrist blessed heaven angel angels god faith hope
computer internet security welcome123 hello hello123 hellokitty whatever nothing something everything
killer hacker ninja samurai warrior knight legend phoenix falcon eagle eagles tiger tigers lion
liverpool arsenal chelsea manchester barcelona realmadrid juventus madrid united
yankees redsox lakers cowboys steelers packers raiders broncos giants patriots dolphins
mustang corvette ferrari porsche mercedes toyota honda yamaha harley camaro nissan bmw audi
diamond silver golden crystal platinum money dollar rich millionaire
purple yellow green blue black white orange red
forever always together family friends friendship happiness happy smile sunflower flower butterfly
rainbow unicorn dolphin turtle monkey1 donkey rabbit kitten kitty puppy doggy doggie
matrix merlin gandalf frodo hobbit thunder lightning storm tornado hurricane
mother father mommy daddy sister brother baby babygirl babyboy princess1 prince queen king
sexy hottie lover loveme kisses sweetie honey sugar darling beautiful pretty
charlie1 michael1 jordan23 lebron kobe24 messi ronaldo cr7 neymar
starwars1 matrix1 trinity neo morpheus voyager enterprise ncc1701 startrek
chicken turkey bacon pizza burger cookies icecream chocolate1
october november december january february march april june july august september
monday tuesday friday sunday weekend holiday
spiderman1 superman1 batman1 ironman hulk thor avengers marvel dc wolverine deadpool
metallica nirvana slipknot eminem beatles linkinpark greenday
qwerty1 qwerty12 qwerty123 qwerty1234 qwertyuiop1 password12 password123 password1234
iloveyou1 iloveyou2 princesa tequiero teamo amor amore cariño corazon
mariposa estrella hermosa bonita dios familia
schatz hallo passwort1 geheim sonne
motdepasse soleil doudou chouchou loulou
контрольный пароль qwerty йцукен
佳佳 我爱你
`)

// Whole passwords of at least 8 characters: number runs, repeats, walks.
var whole = strings.Fields(`
12345678 123456789 1234567890 0123456789 0987654321 9876543210 987654321 87654321 98765432
11111111 111111111 1111111111 22222222 33333333 44444444 55555555 66666666 77777777 88888888
99999999 00000000 000000000 0000000000 12121212 13131313 12341234 12344321 11223344 11112222
12312312 123123123 123321123 123456123 112233445566 123456654321 147258369 159753159 741852963
789456123 963852741 147852369 1234512345 123454321 5201314520 1234567891 1122334455 12345678910
a1234567 a12345678 a123456789 q1234567 qwerty12345 qwertyuiop123 1234qwer 12345qwert
123456qwerty qwerty123456 1qazxsw2 2wsx3edc 3edc4rfv 4rfv5tgb 1qaz@wsx !qaz2wsx zaq!2wsx
!qaz@wsx qazxswedc qwertyuiop[] asdfghjkl; zxcvbnm, 1234567a 123456789a 12345678a 1234567q
password! password!! p4ssw0rd pa55word pa55w0rd passw0rd! p@$$w0rd p@ssw0rd! letmein1 letmein123
admin123 admin1234 admin@123 administrator1 root1234 test1234 test12345 testtest guest123
welcome2 welcome12 welcome@1 changeme1 changeme123 default1 qwertyqwerty asdfasdf zxcvzxcv
iloveyou123 iloveyou! loveyou1 trustno1! abc12345 abcd12345 abc123456 abcdefg1 abcdefgh1
aaaaaaaaa zzzzzzzz xxxxxxxx qqqqqqqq wwwwwwww asdfqwer qwerasdfzxcv 1q2w3e4r5t6y7u8i
1q2w3e4r5t6y7u 1a2b3c4d5e q1w2e3r4t5y6 qazwsx123 qwe123qwe asd123asd zxc123zxc 123qweasd
123qweasdzxc 1qa2ws3ed qwertyu1 !@#$%^&* !@#$%^&*() 1234!@#$ 12345!@#$% !qazxsw2 qwerty!@#
`)

var suffixes = []string{"", "1", "2", "7", "12", "13", "69", "99", "00", "01", "11", "123", "1234",
	"12345", "007", "777", "!", "1!", "123!", "2020", "2021", "2022", "2023", "2024", "2025", "2000"}

var leet = strings.NewReplacer("a", "@", "o", "0", "e", "3", "i", "1", "s", "$")

func main() {
	out := flag.String("o", "common_passwords.txt", "output file")
	flag.Parse()
	set := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(s)
		if utf8.RuneCountInString(s) >= 8 && utf8.RuneCountInString(s) <= 64 {
			set[s] = true
		}
	}
	for _, w := range whole {
		add(w)
	}
	for _, b := range bases {
		for _, s := range suffixes {
			add(b + s)
		}
		add(b + b)
		add(leet.Replace(b))
		add(leet.Replace(b) + "1")
		add(leet.Replace(b) + "123")
		add(leet.Replace(b) + "!")
	}
	list := make([]string, 0, len(set))
	for s := range set {
		list = append(list, s)
	}
	slices.Sort(list)
	var b strings.Builder
	b.WriteString("# Common passwords of 8 characters or more, lower-case, one per line.\n")
	b.WriteString("# Generated by diy/internal/gencommon; do not edit.\n")
	for _, s := range list {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d passwords\n", len(list))
}
