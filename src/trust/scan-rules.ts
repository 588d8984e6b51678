/**
 * The scanner's rules: what each looks for, how bad it is, and what it tells a skill author.
 * Patterns are RE2 syntax, matched by RE2JS in time linear in the line (skill files are hostile
 * input), and only on lines holding one of the rule's keywords (a cheap substring test first).
 * Patterns match lower-cased text.
 */

/** How much a finding weighs in the verdict (docs/security.md, "Scanner"). */
export type Severity = "info" | "low" | "medium" | "high" | "critical";

/** Points a finding of each severity adds to its skill's score. */
export const SEVERITY_POINTS: Record<Severity, number> = {
  info: 0,
  low: 1,
  medium: 3,
  high: 6,
  critical: 10,
};

/** A line rule: keywords gate it, the pattern decides. */
export interface LineRule {
  id: string;
  severity: Severity;
  /** Lower-case substrings; the pattern runs only on lines holding one. */
  keywords: string[];
  /** RE2 syntax, over the lower-cased line. */
  pattern: string;
  /** Which files: "prose" (Markdown and text), "code" (scripts), or both. */
  in?: "prose" | "code";
  /** A match holding one of these (lower-case) is not a finding (RE2 has no lookahead). */
  unless?: string[];
  /** A match holding one of these is reported as info only (e.g. official installers). */
  benign?: string[];
  /**
   * A prose line holding one of these warns against what it shows (a security lesson): the
   * finding drops to low, enough to be listed but not to flag the skill on its own.
   */
  cautioned?: string[];
  /** For the author: what was found and why it matters. */
  explanation: string;
}

/** Hosts whose installers a skill may pipe into a shell without a finding of more than info. */
export const OFFICIAL_INSTALLERS = [
  "sh.rustup.rs",
  "get.docker.com",
  "raw.githubusercontent.com/homebrew/install",
  "deb.nodesource.com",
  "rpm.nodesource.com",
  "install.python-poetry.org",
  "bun.sh/install",
  "astral.sh/uv/install.sh",
  "astral.sh/ruff/install.sh",
  "get.pnpm.io",
  "ollama.com/install.sh",
  "deno.land/install.sh",
  "deno.land/x/install",
  "raw.githubusercontent.com/nvm-sh/nvm",
  "get.sdkman.io",
  "sdk.cloud.google.com",
  "cli.github.com",
  "starship.rs/install.sh",
  "tailscale.com/install.sh",
  "fly.io/install.sh",
  "claude.ai/install.sh",
  "opencode.ai/install",
  "openclaw.ai/install.sh",
  "clawhub.ai/install.sh",
  "mise.run",
  "foundry.paradigm.xyz",
  "install.determinate.systems",
  "nixos.org/nix/install",
  "get.k3s.io",
  "raw.githubusercontent.com/helm/helm",
];

const SHELL = "(?:ba|z|da|k)?sh|python3?|perl|ruby|node|iex|invoke-expression|sudo\\s+(?:ba|z)?sh";

/** URL forms no official installer uses: plain http, bare IPs, paste and file-drop sites, shorteners. */
const UNTRUSTED_SOURCE =
  "(?:http://|https?://\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|https?://(?:[\\w-]+\\.)*(?:pastebin\\.com|paste\\.ee|hastebin|ghostbin|rentry\\.co|gist\\.githubusercontent\\.com|transfer\\.sh|bit\\.ly|tinyurl\\.com|is\\.gd|t\\.co|ngrok(?:-free)?\\.(?:io|app)|trycloudflare\\.com|glitch\\.me|duckdns\\.org|000webhostapp\\.com|discord(?:app)?\\.com/attachments|cdn\\.discordapp\\.com))";

/** A line that advises against turning a protection off is not one that turns it off. */
const ADVISED_AGAINST = [
  "do not turn off",
  "don't turn off",
  "never turn off",
  "do not disable",
  "don't disable",
  "never disable",
];

export const LINE_RULES: LineRule[] = [
  {
    id: "download-exec-untrusted",
    severity: "critical",
    keywords: ["curl", "wget", "iwr", "invoke-webrequest", "irm ", "downloadstring"],
    pattern: `(?:curl|wget|iwr|invoke-webrequest|irm|downloadstring)[^|;&\\n]{0,200}${UNTRUSTED_SOURCE}[^|;&\\n]{0,200}\\|\\s*(?:${SHELL})\\b|(?:iex|invoke-expression)\\s*\\(?\\s*\\(?\\s*(?:iwr|irm|invoke-webrequest|invoke-restmethod|new-object\\s+net\\.webclient\\)?\\.downloadstring)[^\\n]{0,80}${UNTRUSTED_SOURCE}|(?:ba|z)?sh\\s+(?:-c\\s+)?["']?\\$\\(\\s*(?:curl|wget)[^)\\n]{0,200}${UNTRUSTED_SOURCE}`,
    cautioned: [
      "is risky",
      "are risky",
      "is dangerous",
      "are dangerous",
      "is unsafe",
      "never pipe",
      "don't pipe",
      "do not pipe",
      "avoid piping",
      "why piping",
    ],
    explanation:
      "Downloads a script from an address no project publishes installers on (plain http, a bare IP, a paste or file-drop site, a link shortener) and runs it: the classic fake prerequisite. Ship the script inside the skill instead.",
  },
  {
    id: "download-exec",
    severity: "low",
    keywords: ["curl", "wget", "iwr", "invoke-webrequest", "irm ", "downloadstring"],
    pattern: `(?:curl|wget|iwr|invoke-webrequest|irm|downloadstring)[^|;&\\n]{0,300}\\|\\s*(?:${SHELL})\\b|(?:ba|z)?sh\\s+(?:-c\\s+)?["']?\\$\\(\\s*(?:curl|wget)|(?:ba|z)?sh\\s+<\\(\\s*(?:curl|wget)|iex\\s*\\(\\s*(?:new-object\\s+net\\.webclient|iwr|irm|invoke-webrequest)`,
    benign: OFFICIAL_INSTALLERS,
    explanation:
      "Downloads a script and runs it in one step: whatever the server sends runs on the user's machine, unseen and unpinned. Common for a project's own installer; better to name it, pin a version or checksum, and let the user run it.",
  },
  {
    id: "download-exec-binary",
    severity: "medium",
    keywords: ["chmod", "curl", "wget"],
    pattern:
      "(?:curl|wget)[^;&|\\n]{0,300}(?:-o|-O|>)\\s*\\S+[^\\n]{0,200}(?:&&|;)\\s*(?:chmod\\s+\\+?[0-7]*x|\\./)",
    explanation:
      "Downloads a program and makes it executable or runs it: an unverified binary from the network. Name its source, pin it by checksum, and let the user install it.",
  },
  {
    id: "encoded-exec",
    severity: "critical",
    keywords: [
      "base64",
      "atob",
      "b64decode",
      "frombase64string",
      "-enc",
      "xxd -r",
      "-encodedcommand",
    ],
    pattern: `base64\\s+(?:-d|--decode|-D)[^\\n]{0,200}\\|\\s*(?:${SHELL})\\b|(?:eval|exec|execsync|execfile|spawn|spawnsync|function)\\s*\\(\\s*(?:atob|buffer\\.from)|exec\\s*\\(\\s*(?:base64\\.b64decode|__import__\\(['"]base64)|(?:exec|eval)\\s*\\([^)\\n]{0,80}b64decode|powershell[^\\n]{0,80}\\s-(?:e|enc|encodedcommand)\\s+[a-z0-9+/=]{20,}|\\[system\\.convert\\]::frombase64string[^\\n]{0,200}(?:iex|invoke-expression)|xxd\\s+-r\\s+-p[^\\n]{0,100}\\|\\s*(?:${SHELL})\\b`,
    explanation:
      "Decodes a hidden payload and executes it: encoding is how malware hides what it runs from reviewers and scanners. Write the commands out in plain text.",
  },
  {
    id: "remote-code-exec",
    severity: "critical",
    in: "code",
    keywords: ["urlopen", "requests.get", "fetch(", "http.get", "https.get", "httpx.get"],
    pattern:
      "(?:exec|eval|function)\\s*\\(\\s*(?:await\\s+)?[^\\n]{0,40}(?:urlopen|requests\\.get|httpx\\.get|fetch|https?\\.get)\\s*\\(",
    explanation:
      "Downloads code at run time and executes it in the script itself: what runs can change after the skill was reviewed, for every user at once. Ship the code inside the skill.",
  },
  {
    id: "reverse-shell",
    severity: "critical",
    keywords: ["/dev/tcp/", "nc ", "ncat", "netcat", "socat", "dup2", "mkfifo", "pty.spawn"],
    pattern:
      "/dev/tcp/[0-9a-z.-]+/[0-9]+|\\b(?:nc|ncat|netcat)\\b[^\\n]{0,100}\\s-(?:e|c)\\s+/?(?:bin/)?(?:ba)?sh|socat\\b[^\\n]{0,100}exec:|os\\.dup2\\s*\\(\\s*\\w+\\.fileno|mkfifo\\s+/tmp/\\w+[^\\n]{0,100}\\|\\s*(?:nc|ncat)|pty\\.spawn\\s*\\(\\s*['\"]/bin/(?:ba)?sh",
    explanation:
      "Opens a shell that a remote machine controls (a reverse shell): whoever listens on the other end can run anything as the user.",
  },
  {
    id: "miner",
    severity: "critical",
    keywords: [
      "xmrig",
      "stratum+",
      "cryptonight",
      "minerd",
      "nicehash",
      "--donate-level",
      "monero",
      "cpuminer",
      "randomx",
    ],
    pattern:
      "\\bxmrig\\b|stratum\\+(?:tcp|ssl)://|cryptonight|\\bminerd\\b|\\bcpuminer\\b|nicehash|--donate-level|randomx[^\\n]{0,60}(?:pool|mine|mining)|(?:mine|mining|miner)[^\\n]{0,60}\\bmonero\\b|\\bmonero\\b[^\\n]{0,60}(?:mine|mining|miner|pool)",
    explanation:
      "Runs or configures a cryptocurrency miner: it spends the user's machine and power for someone else.",
  },
  {
    id: "credential-files",
    severity: "medium",
    keywords: [
      ".ssh/id_",
      ".aws/credentials",
      ".netrc",
      ".git-credentials",
      ".kube/config",
      "gcloud/",
      "/etc/shadow",
      "login data",
      "logins.json",
      "key4.db",
      "cookies.sqlite",
      "/cookies",
      "wallet.dat",
      "keystore",
      "local extension settings",
      "dump-keychain",
      ".npmrc",
      "leveldb",
      ".electrum",
      "exodus",
      "ledger live",
      "trust wallet",
      "coinomi",
      "guarda",
      "find-generic-password",
      "find-internet-password",
    ],
    pattern:
      "\\.ssh/id_(?:rsa|dsa|ecdsa|ed25519)\\b[^.\\n]|\\.ssh/id_(?:rsa|dsa|ecdsa|ed25519)$|\\.aws/credentials|\\.netrc\\b|\\.git-credentials|\\.kube/config|\\.config/gcloud/(?:credentials|application_default|legacy_credentials)|/etc/shadow|login data|logins\\.json|key4\\.db|cookies\\.sqlite|(?:chrome|chromium|brave|edge|default|profile \\d+)/cookies\\b|wallet\\.dat|(?:exodus|electrum|atomic|metamask|phantom|ledger live|trust wallet|coinomi|guarda)[^\\n]{0,60}(?:keystore|wallets?/|\\.wallet\\b|seed\\.seco|\\bseed\\b|leveldb|vault|local extension settings)|local extension settings|security\\s+dump-keychain|security\\s+find-(?:generic|internet)-password[^\\n]{0,80}(?:chrome|chromium|brave|edge|opera|vivaldi|safe storage)|\\.npmrc[^\\n]{0,40}(?:cat|send|upload|curl)|(?:cat|type|get-content|copy|cp|tar|zip|base64|upload|send|curl)[^\\n]{0,60}\\.npmrc",
    unless: ["ssh-copy-id", "ssh-keygen", ".pub", "chmod 600", "chmod 400"],
    explanation:
      "Reads credential files the skill does not need (SSH or cloud keys, .netrc, kubeconfig, browser password and cookie stores, wallets, the keychain). Ask the user for the one credential the skill uses, by name, instead.",
  },
  {
    id: "env-dump",
    severity: "medium",
    keywords: [".env", "printenv", "process.env", "os.environ", "environ"],
    pattern:
      "(?:cat|type|get-content|base64|less|more|head|tail|strings|xxd|upload|send|post|print|dump|output|share|include|attach|read)\\s+(?:the\\s+|all\\s+|your\\s+|whole\\s+|contents of\\s+|entire\\s+)*[^\\s|;&]{0,40}\\.env\\b(?:\\s*$|\\s*[|>;&)`\"']|\\s+(?:to|into|and|file|contents))|(?:printenv|\\benv\\b)\\s*\\|\\s*(?:curl|nc|base64)|json\\.dumps\\s*\\(\\s*(?:dict\\()?os\\.environ|json\\.stringify\\s*\\(\\s*process\\.env\\s*\\)|(?:send|post|upload|output|print|dump|share|list)\\s+(?:all\\s+)?(?:the\\s+)?(?:available\\s+)?(?:environment variables|env vars|api keys and tokens)",
    unless: ["cut -d", "grep -o", "keys only", "key names", ".env.example", "dotenv"],
    explanation:
      "Reads or sends every secret in the environment or a .env file at once: a skill needs only its own variables, by name.",
  },
  {
    id: "secret-phishing",
    severity: "high",
    keywords: [
      "seed phrase",
      "mnemonic",
      "recovery phrase",
      "secret phrase",
      "12 words",
      "24 words",
      "private key",
    ],
    pattern:
      "(?:paste|enter|type|send|share|provide|give|upload|submit|reply with|tell me|ask (?:the user|them|users) (?:to|for))\\s+(?:me\\s+|us\\s+)?(?:your\\s+|their\\s+|the\\s+|wallet'?s?\\s+)*(?:\\d{2}[- ]word\\s+)?(?:seed phrase|mnemonic|recovery phrase|secret phrase|12 words|24 words)|(?:send|share|upload|submit|post)\\s+(?:me\\s+|us\\s+)?(?:your\\s+|the\\s+)*private keys?\\b",
    unless: [
      "never",
      "do not",
      "don't",
      "not share",
      "must not",
      "warning",
      "scam",
      "phishing",
      "no real service",
      "no legitimate",
    ],
    explanation:
      "Asks for a wallet's seed phrase or private key: whoever has it owns the funds. A legitimate skill signs with a key it is configured with, never asks for it in conversation.",
  },
  {
    id: "exfiltration-channel",
    severity: "medium",
    keywords: [
      "webhook",
      "discord.com/api/webhooks",
      "pastebin",
      "transfer.sh",
      "requestbin",
      "pipedream",
      "webhook.site",
      "interact.sh",
      "oast",
      "burpcollaborator",
      "0x0.st",
      "file.io",
    ],
    pattern:
      "discord(?:app)?\\.com/api/webhooks/|webhook\\.site|requestbin|pipedream\\.net|transfer\\.sh|pastebin\\.com/api|interact\\.sh|\\.oast\\.|burpcollaborator|0x0\\.st|file\\.io",
    explanation:
      "Sends data to a drop point (a chat webhook, a paste, request-catcher or file-drop service): the usual way stolen data leaves a machine. If the skill must upload, name the service and what is sent.",
  },
  {
    id: "upload",
    severity: "low",
    keywords: ["--data", "-d @", "-f ", "--upload-file", "ngrok", "senddocument", "--form"],
    pattern:
      "curl[^\\n]{0,200}(?:--data(?:-binary)?\\s+@|-d\\s+@|-f\\s+['\"]?\\w+=@|--form\\s+['\"]?\\w+=@|--upload-file)|api\\.telegram\\.org/bot[^\\s/]*/senddocument|\\.ngrok(?:-free)?\\.(?:io|app)",
    explanation:
      "Uploads a file or sends data through a tunnel: fine when it is the skill's job, worth a look when the file is not the user's own input.",
  },
  {
    id: "network-send",
    severity: "info",
    in: "code",
    keywords: ["post", "urlopen", "http.request", "https.request", "sendall"],
    pattern:
      "requests\\.(?:post|put)\\s*\\(|httpx\\.(?:post|put)\\s*\\(|axios\\.(?:post|put)\\s*\\(|method\\s*:\\s*['\"](?:post|put)['\"]|urllib\\.request\\.urlopen\\s*\\(|https?\\.request\\s*\\(|curl\\s+[^\\n]{0,40}-x\\s+(?:post|put)|\\.sendall\\s*\\(",
    explanation:
      "Sends data over the network from code: counted only together with reading credentials in the same file.",
  },
  {
    id: "persistence",
    severity: "medium",
    keywords: [
      "crontab",
      "/etc/cron",
      "launchagents",
      "launchdaemons",
      "git/hooks",
      "systemctl --user",
      "schtasks",
      "currentversion\\run",
      "autostart",
    ],
    pattern:
      "crontab\\s+(?:-\\s|-l[^\\n]{0,80}\\|\\s*crontab)|>>?\\s*/etc/cron|(?:cp|mv|tee|>>?|write|install|ln)[^\\n]{0,120}(?:~|\\$home)?/?library/launch(?:agents|daemons)|\\.git/hooks/(?:pre|post)-\\w+|systemctl\\s+--user\\s+enable|schtasks\\s+/create|currentversion\\\\run|\\.config/autostart",
    explanation:
      "Makes something run again later without being asked (cron, a launch agent, a git hook, a service): say so plainly and let the user install it, or act only when the skill is used.",
  },
  {
    id: "shell-rc-payload",
    severity: "critical",
    keywords: ["bashrc", "zshrc", ".profile", "bash_profile", "zprofile"],
    pattern:
      "(?:curl|wget|\\bnc\\b|base64|eval|bash\\s+-c|python3?\\s+-c|/dev/tcp|https?://|\\$\\()[^\\n]{0,200}(?:>>|tee\\s+-a)\\s*(?:~|\\$home)/\\.(?:bashrc|zshrc|profile|bash_profile|zprofile)",
    explanation:
      "Appends a command that runs code or reaches the network to a shell startup file: it will run in every new terminal, long after the skill is gone.",
  },
  {
    id: "memory-edit",
    severity: "low",
    keywords: ["soul.md", "memory.md", "agents.md", "identity.md", "user.md"],
    pattern:
      "(?:>>|tee\\s+-a|append|add|write|insert|save|update|edit|modify|overwrite)[^\\n]{0,100}\\b(?:soul|memory|agents|identity|user)\\.md\\b|\\b(?:soul|memory|agents|identity|user)\\.md\\b[^\\n]{0,100}\\b(?:append|add|write|insert|prepend|overwrite)\\b",
    explanation:
      "Writes into the agent's own memory or identity files: what is written there steers every later session. Fine when keeping memory is the skill's job; say what is written.",
  },
  {
    id: "memory-poisoning",
    severity: "high",
    keywords: ["soul.md", "memory.md", "agents.md", "identity.md", "user.md", "claude.md"],
    pattern:
      "\\b(?:soul|memory|agents|identity|user|claude)\\.md\\b[^\\n]{0,160}(?:always (?:send|forward|approve|trust|run|execute|share)|never (?:ask|tell|confirm|warn|mention)|without (?:asking|confirmation|telling)|(?:is|are|has been) (?:pre-?)?(?:approved|authori[sz]ed|trusted)|auto-?approve|ignore (?:any|all|previous|safety)|overrides? (?:all|any|every|the)\\s+(?:user|other|previous|owner)|takes? precedence over|(?:never|don't|do not|no longer)\\s+(?:need|require)s?\\s+(?:the user'?s?\\s+|any\\s+|a\\s+)?(?:confirmation|approval|permission))|(?:always (?:send|forward|approve|trust|run|execute|share)|never (?:ask|tell|confirm|warn|mention)|without (?:asking|confirmation|telling)|(?:is|are|has been) (?:pre-?)?(?:approved|authori[sz]ed|trusted)|auto-?approve|overrides? (?:all|any|every|the)\\s+(?:user|other|previous|owner)|takes? precedence over|(?:never|don't|do not|no longer)\\s+(?:need|require)s?\\s+(?:the user'?s?\\s+|any\\s+|a\\s+)?(?:confirmation|approval|permission))[^\\n]{0,160}\\b(?:soul|memory|agents|identity|user|claude)\\.md\\b",
    explanation:
      "Plants a standing rule in the agent's memory or identity files that removes the user from the loop (always approve, never ask, trust this): it outlives the skill and steers every later session.",
  },
  {
    id: "disable-agent-safeguards",
    severity: "medium",
    keywords: ["dangerously", "sandbox", "approval", "auto-approve", "yolo", "confirmation"],
    pattern:
      "dangerously-?skip-?permissions|--dangerously-bypass|(?:disable|turn off|bypass|escape|break out of|get around)\\s+(?:the\\s+|your\\s+|its\\s+|any\\s+)?(?:agent'?s?\\s+)?sandbox|(?:disable|turn off|bypass|skip)\\s+(?:the\\s+|all\\s+|any\\s+)?(?:approvals?|confirmation prompts?|permission prompts?)|approval[_ -]?(?:policy|mode)[^\\n]{0,10}(?:never|yolo|full-auto)|--yolo\\b|auto-approve\\s+(?:all|every)",
    unless: [...ADVISED_AGAINST, "do not use", "don't use", "never use"],
    explanation:
      "Runs the agent without its approvals or sandbox: every command it is told to run then runs unchecked. If the skill needs that, say why and let the user choose.",
  },
  {
    id: "disable-os-protections",
    severity: "high",
    keywords: [
      "spctl",
      "quarantine",
      "csrutil",
      "gatekeeper",
      "set-mppreference",
      "defender",
      "setenforce",
      "selinux",
      "ufw disable",
      "executionpolicy",
      "firewall",
    ],
    pattern:
      "spctl\\s+--master-disable|xattr\\s+-(?:d|c|rd|cr|dr)\\s+(?:-r\\s+)?com\\.apple\\.quarantine|xattr\\s+-c\\b|csrutil\\s+disable|(?:disable|turn off|bypass)\\s+(?:the\\s+)?gatekeeper|set-mppreference[^\\n]{0,60}-disable\\w*\\s+\\$?true|(?:disable|turn off|stop)\\s+(?:the\\s+)?(?:windows\\s+)?defender|setenforce\\s+0|selinux=disabled|ufw\\s+disable|set-executionpolicy\\s+(?:bypass|unrestricted)|(?:disable|turn off)\\s+(?:the\\s+)?firewall",
    unless: ADVISED_AGAINST,
    explanation:
      "Turns off an operating-system protection (Gatekeeper or quarantine, antivirus, SELinux, the firewall, script signing): a skill that needs this is asking to run something the system would stop.",
  },
  {
    id: "prompt-injection",
    severity: "high",
    in: "prose",
    keywords: [
      "ignore",
      "disregard",
      "forget",
      "do not tell",
      "don't tell",
      "without telling",
      "without asking",
      "you are now",
      "system prompt",
      "override",
      "secretly",
      "silently",
      "do not mention",
      "don't mention",
      "never mention",
      "never tell",
      "do not inform",
    ],
    pattern:
      "(?:ignore|disregard|forget)\\s+(?:all\\s+|any\\s+|the\\s+)?(?:previous|prior|above|earlier|other|your)\\s+(?:instructions|rules|guidelines|prompts?|directions)|(?:do not|don't|never)\\s+(?:tell|inform|mention|reveal|show)\\s+(?:this\\s+|it\\s+|that\\s+|anything\\s+)?(?:\\w+\\s+)?(?:to\\s+)?(?:the\\s+)?(?:user|human|owner|operator)|without\\s+(?:telling|asking|informing|notifying|alerting)\\s+(?:the\\s+)?(?:user|human|owner)|(?:secretly|silently|quietly)\\s+(?:run|execute|send|upload|install|copy|delete|modify|forward|transfer)|you\\s+are\\s+now\\s+(?:in\\s+)?(?:developer|dan|unrestricted|jailbreak|god)|(?:reveal|print|output|dump)\\s+(?:your\\s+)?system\\s+prompt|override\\s+(?:your|the|all)\\s+(?:safety|security|instructions|rules)",
    explanation:
      "Tells the agent to set aside its instructions or to hide what it does from the user: a skill should describe a task, not steer the agent against its user.",
  },
  {
    id: "image-exfiltration",
    severity: "high",
    in: "prose",
    keywords: ["![", "](http", "<img", "url", "link"],
    pattern:
      "!?\\[[^\\]\\n]{0,200}\\]\\(\\s*https?://[^)\\s]{0,300}[?&][\\w-]{1,40}=[^)\\s]{0,200}(?:\\{\\{?|\\$\\{|\\$\\(|<[a-z_ ,.-]{2,60}>|\\[[a-z_ ,.-]{2,60}\\])|<img[^>\\n]{0,200}src\\s*=\\s*[\"']?https?://[^\"'\\s>]{0,300}[?&][\\w-]{1,40}=[^\"'\\s>]{0,200}(?:\\{\\{?|\\$\\{|\\$\\(|<[a-z_ -]{2,40}>)|(?:append|add|include|put|encode|embed)\\s+(?:the\\s+)?(?:user'?s?\\s+)?(?:conversation|chat history|messages|api keys?|tokens?|passwords?|secrets?|credentials)[^\\n]{0,80}(?:to|in|into)\\s+(?:the\\s+|an?\\s+)?(?:url|query string|image|link|parameter)",
    explanation:
      "Builds an image or link URL out of the conversation or secrets: rendering it sends that data to the URL's server without a click. Links in a skill should be fixed.",
  },
  {
    id: "remote-instructions",
    severity: "high",
    in: "prose",
    keywords: [
      "follow",
      "obey",
      "instructions",
      "latest",
      "heartbeat.md",
      "skill.md",
      "carry out",
      "perform",
      "steps",
    ],
    pattern:
      "(?:fetch|download|retrieve|load|get|read|curl|check)[^\\n]{0,60}https?://\\S{1,200}[^\\n]{0,60}(?:and|then|,)\\s+(?:follow|execute|obey|run|do what|apply)\\b|(?:fetch|download|retrieve|load|get|read|curl|check)[^\\n]{0,60}https?://\\S{1,200}[^\\n]{0,80}(?:carry out|perform|complete|execute|follow|obey|apply)\\s+(?:every|each|all|the)\\s+(?:of\\s+(?:the|its)\\s+)?(?:steps?|instructions?|commands?|tasks?)|(?:follow|obey|execute|run)\\s+(?:the\\s+)?(?:instructions|commands|steps)\\s+(?:at|from|in)\\s+https?://|(?:always|first|before (?:each|every)[^\\n]{0,20})[^\\n]{0,40}(?:fetch|download|check|load|read)[^\\n]{0,40}(?:the\\s+)?(?:latest|updated|current|new)\\s+(?:instructions|skill\\.md|rules|prompt)|(?:re-?fetch|fetch|download)\\s+[^\\n]{0,40}https?://\\S{1,200}/(?:skill|heartbeat|instructions|rules)\\.md",
    explanation:
      "Fetches instructions from the network at run time and follows them: what the skill does can change after it was reviewed, for every user at once. Put the instructions in the skill.",
  },
  {
    id: "archive-password",
    severity: "high",
    keywords: ["password", "unzip -p", "7z x", "-p", "passphrase", "pass:"],
    pattern:
      "unzip\\s+(?:-\\w+\\s+)*-p\\s*\\S+|7za?\\s+[xe]\\b[^\\n]{0,100}\\s-p\\S+|(?:zip|archive|rar|7z|\\.zip\\S*)[^\\n]{0,60}(?:password|passphrase|pass)\\s*(?:is|:|=)\\s*\\S+|(?:password|passphrase)[^\\n]{0,30}(?:to|for)\\s+(?:extract|unzip|open)\\w*\\s+(?:the\\s+|it)?(?:archive|zip|file)?",
    explanation:
      "Hands out a password for an archive: encrypted archives are how malware gets past scanners. Ship files in the clear.",
  },
  {
    id: "impersonation",
    severity: "high",
    keywords: [
      "clawhub",
      "openclaw",
      "clawdbot",
      "moltbot",
      "claw-hub",
      "open-claw",
      "anthropic",
      "official",
    ],
    pattern:
      "(?:npm\\s+(?:i|install)(?:\\s+-g)?|pip3?\\s+install|brew\\s+install|curl|wget)[^\\n]{0,80}\\b(?:claw-?hub|open-?claw|clawdbot|moltbot)[-_.]?(?:cli|core|installer|setup|tools?|helper|agent|update|patch|fix|auth)\\b|(?:download|install|get|run)[^\\n]{0,60}(?:claw-?hub|open-?claw|clawdbot|moltbot)[-_.]?(?:cli|core|installer|setup|helper|agent|update|patch)?(?:\\.zip|\\.exe|\\.dmg|\\.pkg|\\.sh)?[^\\n]{0,40}https?://\\S{1,200}|(?:we are|this is|by|from)\\s+(?:the\\s+)?(?:official\\s+)?(?:clawhub|openclaw|anthropic|openai)\\s+(?:team|staff|security team|official)",
    unless: [
      "clawhub.ai",
      "openclaw.ai",
      "github.com/openclaw/",
      "docs.openclaw",
      "npmjs.com/package/clawhub",
    ],
    explanation:
      "Presents itself as, or installs, official ClawHub or OpenClaw tooling from somewhere else: impersonation is how users are led to run a look-alike.",
  },
];

/** What a whole-file check found (hidden characters, archives, binaries, size). */
export interface FileRule {
  id: string;
  severity: Severity;
  explanation: string;
}

export const FILE_RULES: Record<string, FileRule> = {
  "hidden-unicode": {
    id: "hidden-unicode",
    severity: "high",
    explanation:
      "Holds invisible characters (zero-width, Unicode tag or bidirectional override characters): text the user cannot see but the agent reads, the usual carrier of hidden instructions.",
  },
  "hidden-comment-instructions": {
    id: "hidden-comment-instructions",
    severity: "high",
    explanation:
      "An HTML comment holds instructions for the agent: the rendered page hides them from the user. Put every instruction where people can read it.",
  },
  "nested-archive": {
    id: "nested-archive",
    severity: "medium",
    explanation:
      "Ships an archive inside the skill: its contents are not reviewed with the rest. Ship the files themselves.",
  },
  "encrypted-archive": {
    id: "encrypted-archive",
    severity: "critical",
    explanation:
      "Ships a password-protected archive: nobody can review what is inside, which is why malware uses them.",
  },
  "binary-executable": {
    id: "binary-executable",
    severity: "high",
    explanation:
      "Ships a compiled program (ELF, Mach-O or PE): it cannot be reviewed as text. Ship its source or name where users install it from.",
  },
  unanalysed: {
    id: "unanalysed",
    severity: "medium",
    explanation:
      "Could not be analysed (too large, or not text the scanner reads): the verdict cannot be clean for content nobody checked.",
  },
};
