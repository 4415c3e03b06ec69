# bash completion for tightrope(1): subcommands, options, option values,
# and variant names read from the scenario on the command line.
# Installed as PREFIX/share/bash-completion/completions/tightrope.

_tightrope_variants()
{
    # The names under the scenario's top-level 'variants:' key: the keys
    # indented one level below it, up to the next top-level key.
    awk '
        /^variants:[[:space:]]*(#.*)?$/ { inside = 1; next }
        inside && /^[^[:space:]#]/ { inside = 0 }
        inside && /^[[:space:]]+[a-z][a-z0-9_]*:/ {
            match($0, /^[[:space:]]+/)
            if (indent == 0) indent = RLENGTH
            if (RLENGTH == indent) { sub(/^[[:space:]]+/, ""); sub(/:.*/, ""); print }
        }' "$1" 2>/dev/null
}

_tightrope()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands="run check replay report new help"
    # The options are read from the program's own usage text, so the
    # completion never lags behind the program.
    local run_opts
    run_opts=$("${words[0]}" --help 2>/dev/null | grep -oE -- '(^|[[:space:],[])--?[a-z][a-z-]*' | tr -d ' ,' | sort -u)
    local cmd="" scenario="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            run|check|replay|report|new) [[ -z $cmd ]] && cmd=${words[i]} ;;
            *.yaml|*.yml) scenario=${words[i]} ;;
        esac
    done

    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi

    case $prev in
        --series) COMPREPLY=($(compgen -W "all summary none" -- "$cur")); return ;;
        --variant)
            [[ -n $scenario ]] && COMPREPLY=($(compgen -W "$(_tightrope_variants "$scenario")" -- "$cur"))
            return ;;
        -o|--out) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        -n|--runs|-t|--ticks|-s|--seed|-j|--threads|--run|--point|--set|--precision|--batch) return ;;
    esac

    case $cmd in
        run|check)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$run_opts" -- "$cur"))
            else
                COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur"))
            fi ;;
        replay)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--run --variant --point -s --seed -t --ticks --set" -- "$cur"))
            else
                COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur"))
            fi ;;
        report)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--variants --metrics --outcomes --format" -- "$cur"))
            elif [[ $prev == --format ]]; then
                COMPREPLY=($(compgen -W "svg png pdf" -- "$cur"))
            else
                COMPREPLY=($(compgen -d -- "$cur"))
            fi ;;
        new)
            COMPREPLY=($(compgen -d -- "$cur")) ;;
    esac
}
complete -F _tightrope tightrope
