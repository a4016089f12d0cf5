# bash completion for maillage(1). The commands and their options come from
# the client itself (`maillage help --commands`, read once per shell), so
# this file never lags behind; institution codes come from the directory
# cached by the last `maillage network list`
# ($XDG_CACHE_HOME/maillage/institutions, else ~/.cache/maillage/...).

_maillage_institutions()
{
	local f="${XDG_CACHE_HOME:-$HOME/.cache}/maillage/institutions"
	[[ -r $f ]] && cat -- "$f"
}

# Values of an option, by its name (and the command when it matters).
_maillage_values()
{
	local cmd=$1 opt=$2
	case $opt in
	--to | --institution) _maillage_institutions ;;
	--kind)
		case $cmd in
		"notice send" | "case list")
			echo sighting information_preoccupante signalement referral runaway shelter hearing court_decision followup closure ;;
		*)
			echo association child_welfare youth_justice police gendarmerie court lawyer health education other ;;
		esac ;;
	--state) echo received read accepted declined done ;;
	--urgency) echo normal urgent ;;
	--visibility) echo general social health judicial ;;
	--basis) echo secret_partage information_preoccupante signalement requisition consent ;;
	--informed) echo yes no ;;
	--sex) echo F M ;;
	--role) echo partner coordinator auditor admin ;;
	--format)
		case $cmd in
		report*) echo table csv json html ;;
		*) echo table csv json ;;
		esac ;;
	--outcome) echo ok refused error ;;
	--lang) echo en fr ;;
	esac
}

_maillage()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -n = || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	if [[ -z ${_maillage_table:-} ]]; then
		_maillage_table=$("${words[0]}" help --commands 2>/dev/null) ||
			_maillage_table=$(command maillage help --commands 2>/dev/null)
	fi

	# The words of the command typed so far, global options skipped.
	local i w typed=() after_cmd=0
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		-c | --config) ((i++)) ;;
		-*) ;;
		*) typed+=("$w") ;;
		esac
	done

	case $prev in
	-c | --config | --file | -f | --cert | --text-file | -o | --output | --pubkey | --state-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	esac

	# The longest command that the typed words begin with.
	local line name opts best="" bestopts="" n
	while IFS=$'\t' read -r name opts; do
		read -ra nw <<<"$name"
		n=${#nw[@]}
		((n <= ${#typed[@]})) || continue
		[[ ${typed[*]:0:n} == "$name" ]] || continue
		if ((n > $(wc -w <<<"$best"))); then
			best=$name
			bestopts=$opts
		fi
	done <<<"$_maillage_table"

	if [[ -n $best ]]; then
		local v
		if [[ $prev == --* && " $bestopts " == *" $prev= "* ]]; then
			v=$(_maillage_values "$best" "$prev")
			COMPREPLY=($(compgen -W "$v" -- "$cur"))
			return
		fi
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "${bestopts//=/}" -- "$cur"))
			return
		fi
		case $best in
		help)
			# the next word of the commands named so far after "help"
			local k=$((${#typed[@]} - 1)) sub=("${typed[@]:1}") next=()
			while IFS=$'\t' read -r name opts; do
				read -ra nw <<<"$name"
				((${#nw[@]} > k)) || continue
				[[ ${nw[*]:0:k} == "${sub[*]}" ]] || continue
				next+=("${nw[k]}")
			done <<<"$_maillage_table"
			COMPREPLY=($(compgen -W "$(printf '%s\n' "${next[@]}" | sort -u)" -- "$cur")) ;;
		"network show" | "case party add" | "case party remove" | "case lead" | \
			"admin institution disable" | "admin institution enable" | \
			"admin account add")
			COMPREPLY=($(compgen -W "$(_maillage_institutions)" -- "$cur")) ;;
		esac
		return
	fi

	# Not a whole command yet: the next word of those that match.
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--config --json --help --version" -- "$cur"))
		return
	fi
	local k=${#typed[@]} next=()
	while IFS=$'\t' read -r name opts; do
		read -ra nw <<<"$name"
		((${#nw[@]} > k)) || continue
		[[ ${nw[*]:0:k} == "${typed[*]}" ]] || continue
		next+=("${nw[k]}")
	done <<<"$_maillage_table"
	COMPREPLY=($(compgen -W "$(printf '%s\n' "${next[@]}" | sort -u)" -- "$cur"))
}
complete -F _maillage maillage
