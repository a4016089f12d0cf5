# conf2md.awk: the sections and keys of deploy/maillaged.conf.example as the
# markup of mkman.awk, for maillaged.conf(5). In the example, a block of
# comment lines followed by one or more keys (`key = value`, or `;key =
# value` for an optional key shown commented out) documents those keys; a
# block followed by a blank line introduces its section. Comment lines
# indented further are commands, kept as literal lines.
function flush_text(    i) {
	for (i = 1; i <= n; i++)
		print text[i]
	n = 0
}
function flush_keys(    i, term) {
	if (nk == 0)
		return
	term = ""
	for (i = 1; i <= nk; i++)
		term = term (i > 1 ? ", " : "") "`" key[i] "`"
	print "@ " term
	flush_text()
	for (i = 1; i <= nk; i++)
		print "    " key[i] " = " val[i]
	print ""
	nk = 0
}
/^\[[a-z_]+\]/ {
	flush_keys()
	if (!started)
		print "# SECTIONS AND KEYS"
	started = 1
	n = 0
	print "## " $0
	next
}
!started { next }
/^[;#]?[a-z_]+[ \t]*=/ {
	line = $0
	sub(/^[;#]/, "", line)
	k = line
	sub(/[ \t]*=.*/, "", k)
	v = line
	sub(/^[^=]*=[ \t]*/, "", v)
	sub(/[ \t]+;.*/, "", v)
	nk++
	key[nk] = k
	val[nk] = v
	next
}
/^[;#]/ {
	flush_keys()
	line = $0
	sub(/^[;#]/, "", line)
	if (line ~ /^   /) {
		sub(/^ +/, "", line)
		text[++n] = "    " line
	} else {
		sub(/^ /, "", line)
		if (line ~ /^[-#@%]/)
			line = "\\" line
		text[++n] = line
	}
	next
}
/^[ \t]*$/ {
	flush_keys()
	if (n > 0) {
		flush_text()
		print ""
	}
	next
}
END { flush_keys(); flush_text() }
