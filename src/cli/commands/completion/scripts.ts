/**
 * The completion scripts. Each shell only gathers the words before the cursor, checks that the
 * index in the cache folder (index-file.ts) is newer than every file it was built from, and
 * hands the words to one awk program shared by the three shells; `connectr __complete index`
 * (node) runs only when the index is missing or stale. What the awk program prints is used as
 * data: one candidate per line, or `:file` / `:dir` for the shell's own file completion.
 * Nothing from a definition is ever evaluated by a shell.
 */

/**
 * argv: the current word, then the words between `connectr` and it; stdin: the index. Written
 * without single quotes or backslashes, so it embeds unchanged in all three shells' quoting.
 */
export const AWK_PROGRAM = `
BEGIN {
  FS = sprintf("%c", 9)
  cur = ARGV[1]
  n = 0
  for (i = 2; i < ARGC; i++) w[++n] = ARGV[i]
  ARGC = 1
}
$1 == "C" { subs[$2] = subs[$2] FS $3; issub[$2 SUBSEP $3] = 1 }
$1 == "F" { flags[$2] = flags[$2] FS $3; arity[$2 SUBSEP $3] = $4; kind[$2 SUBSEP $3] = $5 }
$1 == "A" { argk[$2 SUBSEP $3] = $4 }
$1 == "V" { vals[$2 SUBSEP $3] = vals[$2 SUBSEP $3] FS $4 }
$1 == "N" { conns = conns FS $2 }
$1 == "E" { eps[$2] = eps[$2] FS $3 }
$1 == "U" { accts[$2] = accts[$2] FS $3 }
function find(x) {
  if ((scope SUBSEP x) in arity) return scope SUBSEP x
  if ((path SUBSEP x) in arity) return path SUBSEP x
  if (("" SUBSEP x) in arity) return "" SUBSEP x
  return ""
}
function offer(list,    parts, m, j) {
  m = split(list, parts, FS)
  for (j = 1; j <= m; j++)
    if (parts[j] != "" && index(parts[j], cur) == 1 && !(parts[j] in seen)) { seen[parts[j]] = 1; print parts[j] }
}
function offerkind(k) {
  if (k == "connector") offer(conns)
  else if (k == "endpoint" && conn != "") offer(eps[conn])
  else if (k == "account" && conn != "") offer(accts[conn])
  else if (k == "file") { print ":file"; done = 1 }
  else if (k == "dir") { print ":dir"; done = 1 }
  else if (k == "enum") offer(vals[path SUBSEP "#" (npos + 1)])
}
END {
  path = ""; scope = ""; npos = 0; conn = ""; pending = ""
  for (i = 1; i <= n; i++) {
    x = w[i]
    if (pending != "") { pending = ""; continue }
    if (x == "--") continue
    if (substr(x, 1, 1) == "-") {
      if (index(x, "=") > 0) continue
      f = find(x)
      if (f != "" && arity[f] == 1) pending = f
      continue
    }
    if (scope == path && (path SUBSEP x) in issub) {
      path = (path == "" ? x : path " " x); scope = path; npos = 0; continue
    }
    npos++
    k = argk[path SUBSEP npos]
    if (k == "connector") conn = x
    if (k == "endpoint" && conn != "" && argk[path SUBSEP (npos + 1)] == "flags") scope = "@" conn " " x
  }
  if (pending != "") {
    k = kind[pending]
    if (k == "enum") offer(vals[pending])
    else offerkind(k)
    exit
  }
  if (substr(cur, 1, 1) == "-") {
    if (index(cur, "=") == 0) { offer(flags[scope]); offer(flags[path]); offer(flags[""]) }
    exit
  }
  if (scope == path) offer(subs[path])
  offerkind(argk[path SUBSEP (npos + 1)])
  if (!done && cur == "" && substr(scope, 1, 1) == "@") offer(flags[scope])
}
`;

const INDEX_HEADER_CHECK = {
  bash: `
  local idx=$cache/completion.tsv fresh= kind value
  if [[ -r $idx ]]; then
    fresh=1
    while IFS=$'\\t' read -r kind value; do
      case $kind in
        '#'*) ;;
        key) [[ $value == "$key" ]] || fresh= ;;
        watch) [[ -e $value && ! $value -nt $idx ]] || fresh= ;;
        *) break ;;
      esac
    done <"$idx"
  fi`,
};

const BASH = `# connectr completion for bash: source <(connectr completion bash)
_connectr_awk='${AWK_PROGRAM}'

_connectr() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[0]} i
  local -a words=("\${COMP_WORDS[@]:1:COMP_CWORD-1}") dirs=()
  local key=\${CONNECTR_CONNECTORS_DIR-}
  for ((i = 0; i < \${#words[@]}; i++)); do
    case \${words[i]} in
      --connectors-dir) dirs+=(--connectors-dir "\${words[i + 1]-}"); key+=":\${words[i + 1]-}" ;;
      --connectors-dir=*) dirs+=("\${words[i]}"); key+=":\${words[i]#*=}" ;;
    esac
  done
  [[ -n $key ]] && key+="@$PWD"
  local cache=\${CONNECTR_HOME:+$CONNECTR_HOME/cache}
  : "\${cache:=\${XDG_CACHE_HOME:-$HOME/.cache}/connectr}"${INDEX_HEADER_CHECK.bash}
  local out
  if [[ -n $fresh ]]; then
    out=$(awk "$_connectr_awk" "$cur" "\${words[@]}" <"$idx" 2>/dev/null)
  else
    out=$("$cmd" "\${dirs[@]}" __complete index --key "$key" 2>/dev/null </dev/null | awk "$_connectr_awk" "$cur" "\${words[@]}" 2>/dev/null)
  fi
  COMPREPLY=()
  case $out in
    :file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    :dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    ?*) mapfile -t COMPREPLY <<<"$out" ;;
  esac
}
complete -F _connectr connectr
`;

const ZSH = `#compdef connectr
# connectr completion for zsh: source <(connectr completion zsh), after compinit
_connectr_awk='${AWK_PROGRAM}'

_connectr() {
  local cur=\${words[CURRENT]} cmd=\${words[1]} i
  local -a prev dirs
  prev=("\${(@)words[2,CURRENT-1]}")
  local key=\${CONNECTR_CONNECTORS_DIR-}
  for ((i = 1; i <= \${#prev}; i++)); do
    case \${prev[i]} in
      --connectors-dir) dirs+=(--connectors-dir "\${prev[i + 1]-}"); key+=":\${prev[i + 1]-}" ;;
      --connectors-dir=*) dirs+=("\${prev[i]}"); key+=":\${prev[i]#*=}" ;;
    esac
  done
  [[ -n $key ]] && key+="@$PWD"
  local cache=\${CONNECTR_HOME:+$CONNECTR_HOME/cache}
  : "\${cache:=\${XDG_CACHE_HOME:-$HOME/.cache}/connectr}"${INDEX_HEADER_CHECK.bash}
  local out
  if [[ -n $fresh ]]; then
    out=$(awk "$_connectr_awk" "$cur" "\${prev[@]}" <"$idx" 2>/dev/null)
  else
    out=$("$cmd" "\${dirs[@]}" __complete index --key "$key" 2>/dev/null </dev/null | awk "$_connectr_awk" "$cur" "\${prev[@]}" 2>/dev/null)
  fi
  case $out in
    :file) _files ;;
    :dir) _files -/ ;;
    ?*) local -a found; found=("\${(@f)out}"); compadd -- "\${found[@]}" ;;
  esac
}

if [[ $funcstack[1] == _connectr ]]; then
  _connectr "$@"
else
  compdef _connectr connectr
fi
`;

const FISH = `# connectr completion for fish: connectr completion fish > ~/.config/fish/completions/connectr.fish
set -g __connectr_awk '${AWK_PROGRAM}'

function __connectr_complete
  set -l prev (commandline -opc)
  set -l cur (commandline -ct)
  set -l cmd $prev[1]
  set -e prev[1]
  set -l dirs
  set -l key "$CONNECTR_CONNECTORS_DIR"
  for i in (seq (count $prev))
    switch $prev[$i]
      case --connectors-dir
        set -l next (math $i + 1)
        set -a dirs --connectors-dir "$prev[$next]"
        set key "$key:$prev[$next]"
      case '--connectors-dir=*'
        set -a dirs $prev[$i]
        set key "$key:"(string replace -- --connectors-dir= '' $prev[$i])
    end
  end
  test -n "$key"; and set key "$key@$PWD"
  set -l cache "$CONNECTR_HOME/cache"
  if test -z "$CONNECTR_HOME"
    set cache "$HOME/.cache/connectr"
    test -n "$XDG_CACHE_HOME"; and set cache "$XDG_CACHE_HOME/connectr"
  end
  set -l idx "$cache/completion.tsv"
  set -l fresh
  if test -r "$idx"
    set fresh 1
    while read -l --delimiter \\t kind value
      switch $kind
        case '#*'
        case key
          test "$value" = "$key"; or set fresh
        case watch
          test -e "$value"; and not test "$value" -nt "$idx"; or set fresh
        case '*'
          break
      end
    end <"$idx"
  end
  set -l out
  if test -n "$fresh"
    set out (awk $__connectr_awk "$cur" $prev <"$idx" 2>/dev/null)
  else
    set out ($cmd $dirs __complete index --key "$key" 2>/dev/null </dev/null | awk $__connectr_awk "$cur" $prev 2>/dev/null)
  end
  switch "$out[1]"
    case :file
      __fish_complete_path "$cur"
    case :dir
      __fish_complete_directories "$cur"
    case '*'
      printf '%s\\n' $out
  end
end

complete -c connectr -f -a '(__connectr_complete)'
`;

export function completionScript(shell: 'bash' | 'zsh' | 'fish'): string {
  return shell === 'bash' ? BASH : shell === 'zsh' ? ZSH : FISH;
}
