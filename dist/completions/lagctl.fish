# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lagctl_global_optspecs
    string join \n socket= h/help V/version
end

function __fish_lagctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lagctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lagctl_using_subcommand
    set -l cmd (__fish_lagctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lagctl -n "__fish_lagctl_needs_command" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_needs_command" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_needs_command" -s V -l version -d 'Print version'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "create-aggr" -d 'Create an aggregation (dladm create-aggr)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "add-aggr" -d 'Add member links to an aggregation'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "remove-aggr" -d 'Remove member links; each is drained first under marker protection (nothing lost)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "modify-aggr" -d 'Change the settings of an aggregation, live: only the options given change'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "delete-aggr" -d 'Delete an aggregation: members are released and restored'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "disable-member" -d 'Disable members without removing them (OVS bond/disable-slave): each is drained under marker protection (nothing lost or reordered), then carries no traffic; it stays a member, still collecting. Not saved: a restart of lagd enables every member'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "enable-member" -d 'Enable disabled members: each takes back its share of conversations, marker-protected'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "set-active-member" -d 'Active-backup: make LINK the active member now (OVS bond/set-active-slave); the traffic moves under marker protection and stays there until that member fails (non-revertive)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "show-hash" -d 'Show the distribution buckets with their member and load (as OVS bond/show), or with --flow which member carries a conversation and its bucket'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "events" -d 'Print lagd\'s events (-f: follow new ones as they happen)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "show-aggr" -d 'Show aggregations: members (default), LACP detail (-L), extended (-x), statistics (-s)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "show-link" -d 'Show the links of the aggregations (-s: traffic statistics)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "monitor" -d 'Live view of an aggregation\'s members: rates, utilisation, failovers'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "state" -d 'The daemon\'s state (`state dump`: everything as JSON)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "diagnose" -d 'Check an aggregation for misconfigurations and explain how to fix them (exit 0 healthy, 1 findings, 2 error)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "reload" -d 'Reload lagd\'s configuration file and wait for the outcome: exit 1 with lagd\'s reason when it refused (the unit\'s `ExecReload=`, so `systemctl reload lagd` fails too)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "restart-daemon" -d 'Restart lagd keeping every aggregation (for an upgrade: the binary is read again)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "restore-links" -d 'Give members back from lagd\'s records when their lagd is gone for good (crashed, not to be restarted): each is restored exactly as before lagd took it; with --all, leftover aggregate interfaces are removed too. Needs no daemon; refuses while one runs'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "import" -d 'Import a configuration written for another tool'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "man" -d 'Print a man page (roff): lagctl(8), or a verb\'s (`lagctl man show-aggr` is lagctl-show-aggr(8)). Read with `lagctl man show-aggr | man -l -`'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "gen-docs" -d 'Write the man pages and completion scripts into DIR'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "create-dt-domain" -d 'Create the Distributed Trunking domain (the `[dt]` table) in a running lagd'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "show" -d 'Show state (`show distributed-trunk status`, `show lacp trunk [NAME]`)'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "sim" -d 'Run a scenario in the deterministic simulator'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "demo" -d 'Run the demo: two hosts, four links, one cut at 10 s and restored at 20 s'
complete -c lagctl -n "__fish_lagctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s l -l link -d 'Member link (repeat for each)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s P -l policy -d 'Hash policy: L2, L3, L4 or a comma list (default L3,L4)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s L -l lacp-mode -d 'LACP mode: off (a static trunk), active or passive' -r -f -a "active\t''
passive\t''
off\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s T -l lacp-timer -d 'LACP timer: short (the partner sends every second) or long (every 30 s)' -r -f -a "short\t''
long\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s u -l mac -l unicast -d 'The aggregate\'s MAC address (also the LACP System id); default: the first member\'s. dladm\'s -u/--unicast' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s m -l mode -d 'Mode: lacp, static (no LACPDU), active-backup, round-robin (reorders frames) or broadcast' -r -f -a "lacp\t''
static\t''
active-backup\t''
round-robin\t''
broadcast\t''
transmit-lb\t''
adaptive-lb\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l min-links -d 'Members that must be Collecting and Distributing for the aggregate to be up' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l max-active -d 'At most N members active, the others Standby (modify: 0 = no limit)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l ad-select -d 'How the active Aggregator is chosen when members reach different partners or keys: stable (default: kept while it works), bandwidth or count (as Linux\'s ad_select)' -r -f -a "stable\t''
bandwidth\t''
count\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l fallback -d 'What to do when the partner sends no LACPDU: off, one-member or static' -r -f -a "off\t''
one-member\t''
static\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l fallback-timeout -d 'How long without LACPDU before fallback (e.g. 6s)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l mtu -d 'MTU of the aggregate and every member' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s k -l key -d 'Administrative key of the members' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l system-priority -d 'LACP System priority (lower is better)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l rebalance-interval -d 'How often load is measured and buckets rebalanced (e.g. 1s), or off' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l aggregate-wait -d 'Aggregate Wait Time (802.1AX): how long the members of a new aggregation gather before it attaches (default 2s)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l offload -d 'Kernel fast path for data frames (eBPF at the aggregate\'s and members\' tc hooks, driven by lagd\'s distributor and Collecting state): auto (default: where the kernel allows, saying why not elsewhere), on (or fail), off' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l rx-steering -d 'Receive steering by flow on the aggregate (RPS, for frames the kernel fast path delivers): auto (default: by flow), on, off (each frame on the CPU that received it: cheaper, in order only where every member hands a conversation on from one CPU)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l port-priority -d 'LACP Port_Priority of one member (lower is preferred when max-active leaves some on Standby): LINK=PRIO, repeat for each' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l bfd -d 'Micro-BFD (RFC 7130) on every member: INTERVAL[,MULTIPLIER] (e.g. 50ms,3) or off. A member whose BFD session is not Up neither collects nor distributes' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s f -l force -d 'Take links that have IP addresses (removed now, restored on release)'
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s t -l temporary -d 'Temporary: not written to lagd\'s configuration file (lost on restart)'
complete -c lagctl -n "__fish_lagctl_using_subcommand create-aggr" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand add-aggr" -s l -l link -d 'Link to add (repeat for each)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand add-aggr" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand add-aggr" -s f -l force -d 'Take links that have IP addresses'
complete -c lagctl -n "__fish_lagctl_using_subcommand add-aggr" -s t -l temporary -d 'Temporary: not written to the configuration file'
complete -c lagctl -n "__fish_lagctl_using_subcommand add-aggr" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand remove-aggr" -s l -l link -d 'Link to remove (repeat for each)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand remove-aggr" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand remove-aggr" -l no-drain -d 'Remove at once, without draining (frames in flight may be lost)'
complete -c lagctl -n "__fish_lagctl_using_subcommand remove-aggr" -s t -l temporary -d 'Temporary: not written to the configuration file'
complete -c lagctl -n "__fish_lagctl_using_subcommand remove-aggr" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s L -l lacp-mode -d 'LACP mode: off (a static trunk), active or passive' -r -f -a "active\t''
passive\t''
off\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s T -l lacp-timer -d 'LACP timer: short (the partner sends every second) or long (every 30 s)' -r -f -a "short\t''
long\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s m -l mode -d 'Mode: lacp, static (no LACPDU), active-backup, round-robin (reorders frames) or broadcast' -r -f -a "lacp\t''
static\t''
active-backup\t''
round-robin\t''
broadcast\t''
transmit-lb\t''
adaptive-lb\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l min-links -d 'Members that must be Collecting and Distributing for the aggregate to be up' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l max-active -d 'At most N members active, the others Standby (modify: 0 = no limit)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l ad-select -d 'How the active Aggregator is chosen when members reach different partners or keys: stable (default: kept while it works), bandwidth or count (as Linux\'s ad_select)' -r -f -a "stable\t''
bandwidth\t''
count\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l fallback -d 'What to do when the partner sends no LACPDU: off, one-member or static' -r -f -a "off\t''
one-member\t''
static\t''"
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l fallback-timeout -d 'How long without LACPDU before fallback (e.g. 6s)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l mtu -d 'MTU of the aggregate and every member' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s k -l key -d 'Administrative key of the members' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l system-priority -d 'LACP System priority (lower is better)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l rebalance-interval -d 'How often load is measured and buckets rebalanced (e.g. 1s), or off' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l aggregate-wait -d 'Aggregate Wait Time (802.1AX): how long the members of a new aggregation gather before it attaches (default 2s)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l rx-steering -d 'Receive steering by flow on the aggregate (RPS, for frames the kernel fast path delivers): auto (default: by flow), on, off (each frame on the CPU that received it: cheaper, in order only where every member hands a conversation on from one CPU)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l port-priority -d 'LACP Port_Priority of one member (lower is preferred when max-active leaves some on Standby): LINK=PRIO, repeat for each' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l bfd -d 'Micro-BFD (RFC 7130) on every member: INTERVAL[,MULTIPLIER] (e.g. 50ms,3) or off. A member whose BFD session is not Up neither collects nor distributes' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s P -l policy -d 'Hash policy: L2, L3, L4 or a comma list' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s u -l mac -l unicast -d 'The aggregate\'s MAC address (also the LACP System id). dladm\'s -u/--unicast' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -l offload -d 'Kernel fast path for data frames: auto (where the kernel allows, saying why not elsewhere), on (or fail), off' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s t -l temporary -d 'Temporary: not written to the configuration file'
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s f -l force -d 'Apply the change even if it takes the aggregate down (LACP against the partner\'s mode, min-links above the members in service); refused otherwise, with the diagnosis'
complete -c lagctl -n "__fish_lagctl_using_subcommand modify-aggr" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand delete-aggr" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand delete-aggr" -s t -l temporary -d 'Temporary: the aggregation stays in the configuration file'
complete -c lagctl -n "__fish_lagctl_using_subcommand delete-aggr" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand disable-member" -s l -l link -d 'Member to disable (repeat for each)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand disable-member" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand disable-member" -s f -l force -d 'Even the last member carrying traffic (the aggregate then carries none)'
complete -c lagctl -n "__fish_lagctl_using_subcommand disable-member" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand enable-member" -s l -l link -d 'Member (repeat for each)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand enable-member" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand enable-member" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand set-active-member" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand set-active-member" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -l flow -d 'A conversation: SRC,DST,PROTO,SPORT,DPORT (IPv4 or IPv6 addresses; PROTO tcp, udp, sctp, udplite or a number). Prints the member that carries it and its bucket' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -l src-mac -d 'With --flow: the source MAC (hashed under an L2 policy; default the aggregate\'s)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -l dst-mac -d 'With --flow: the destination MAC, the next hop\'s (hashed under an L2 policy)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -s o -l output -d 'Fields to print, comma separated (see each view\'s column names)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -s i -l interval -d 'Repeat every SECONDS' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -s c -l count -d 'With -i: stop after COUNT reports' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -s p -l parseable -d 'Parseable output: one line per row, fields separated by \':\' (\':\' in values escaped as \'\\:\'), no headers'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -l json -d 'JSON output (with -i: one document per line)'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-hash" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand events" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand events" -s f -l follow -d 'Follow: print new events as they happen, until interrupted'
complete -c lagctl -n "__fish_lagctl_using_subcommand events" -l json -d 'One JSON document per line'
complete -c lagctl -n "__fish_lagctl_using_subcommand events" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s o -l output -d 'Fields to print, comma separated (see each view\'s column names)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s i -l interval -d 'Repeat every SECONDS' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s c -l count -d 'With -i: stop after COUNT reports' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s L -l lacp -d 'LACP detail: activity, timeout, aggregatable, sync, coll, dist, defaulted, expired'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s x -l extended -d 'Extended: port numbers, priorities, actor and partner, machine states, churn'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s s -l statistics -d 'Statistics per member and in total (with -i: per interval)'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s P -l persistent -d 'The persistent configuration (lagd\'s configuration file), as dladm show-aggr -P'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s p -l parseable -d 'Parseable output: one line per row, fields separated by \':\' (\':\' in values escaped as \'\\:\'), no headers'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -l json -d 'JSON output (with -i: one document per line)'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-aggr" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-link" -s o -l output -d 'Fields to print, comma separated (see each view\'s column names)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-link" -s i -l interval -d 'Repeat every SECONDS' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-link" -s c -l count -d 'With -i: stop after COUNT reports' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand show-link" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand show-link" -s s -l statistics -d 'Statistics: ipackets rbytes ierrors opackets obytes oerrors'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-link" -s p -l parseable -d 'Parseable output: one line per row, fields separated by \':\' (\':\' in values escaped as \'\\:\'), no headers'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-link" -l json -d 'JSON output (with -i: one document per line)'
complete -c lagctl -n "__fish_lagctl_using_subcommand show-link" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand monitor" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand monitor" -s c -l count -d 'Stop after COUNT intervals (line mode)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand monitor" -l lines -d 'Print lines even on a terminal'
complete -c lagctl -n "__fish_lagctl_using_subcommand monitor" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand state; and not __fish_seen_subcommand_from dump help" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand state; and not __fish_seen_subcommand_from dump help" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand state; and not __fish_seen_subcommand_from dump help" -f -a "dump" -d 'The whole daemon state as JSON (like `teamdctl state dump`)'
complete -c lagctl -n "__fish_lagctl_using_subcommand state; and not __fish_seen_subcommand_from dump help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand state; and __fish_seen_subcommand_from dump" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand state; and __fish_seen_subcommand_from dump" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "dump" -d 'The whole daemon state as JSON (like `teamdctl state dump`)'
complete -c lagctl -n "__fish_lagctl_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand diagnose" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand diagnose" -l json -d 'JSON output'
complete -c lagctl -n "__fish_lagctl_using_subcommand diagnose" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand reload" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand reload" -l delete-all -d 'When the file has no aggregation (empty, or missing), delete every aggregation the file had created instead of refusing (temporary ones stay)'
complete -c lagctl -n "__fish_lagctl_using_subcommand reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lagctl -n "__fish_lagctl_using_subcommand restart-daemon" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand restart-daemon" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lagctl -n "__fish_lagctl_using_subcommand restore-links" -l state-dir -d 'lagd\'s state directory (its --state-dir)' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand restore-links" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand restore-links" -s a -l all -d 'Every member with a record, and every leftover aggregate'
complete -c lagctl -n "__fish_lagctl_using_subcommand restore-links" -s n -l dry-run -d 'Only say what would be restored'
complete -c lagctl -n "__fish_lagctl_using_subcommand restore-links" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and not __fish_seen_subcommand_from ifupdown networkd netplan nmconnection help" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and not __fish_seen_subcommand_from ifupdown networkd netplan nmconnection help" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and not __fish_seen_subcommand_from ifupdown networkd netplan nmconnection help" -f -a "ifupdown" -d 'Debian ifupdown bond stanzas (/etc/network/interfaces) to lagd configuration'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and not __fish_seen_subcommand_from ifupdown networkd netplan nmconnection help" -f -a "networkd" -d 'systemd-networkd bonds: the bond\'s .netdev and the .network files of its members'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and not __fish_seen_subcommand_from ifupdown networkd netplan nmconnection help" -f -a "netplan" -d 'netplan bonds (network: bonds:) and the ethernets they name'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and not __fish_seen_subcommand_from ifupdown networkd netplan nmconnection help" -f -a "nmconnection" -d 'NetworkManager bond profiles in keyfile format (.nmconnection) and their ports'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and not __fish_seen_subcommand_from ifupdown networkd netplan nmconnection help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from ifupdown" -l config -d 'With --write: lagd\'s configuration file' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from ifupdown" -s o -l output -d 'Write the lagd configuration (TOML) to this file instead of printing it' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from ifupdown" -l host-links -d 'The interfaces of the host the files are for, as `ip -j link` prints them there (default: this host\'s), to turn name globs and MAC matches into member names' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from ifupdown" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from ifupdown" -l write -d 'Add the aggregations to lagd\'s configuration file (comments kept); `lagctl reload` applies them. Refused if an aggregation or member is already there'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from ifupdown" -l apply -d 'Create the aggregations in the running lagd (CreateAggr)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from ifupdown" -s t -l temporary -d 'With --apply: temporary (not written to lagd\'s configuration file)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from ifupdown" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from networkd" -l config -d 'With --write: lagd\'s configuration file' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from networkd" -s o -l output -d 'Write the lagd configuration (TOML) to this file instead of printing it' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from networkd" -l host-links -d 'The interfaces of the host the files are for, as `ip -j link` prints them there (default: this host\'s), to turn name globs and MAC matches into member names' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from networkd" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from networkd" -l write -d 'Add the aggregations to lagd\'s configuration file (comments kept); `lagctl reload` applies them. Refused if an aggregation or member is already there'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from networkd" -l apply -d 'Create the aggregations in the running lagd (CreateAggr)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from networkd" -s t -l temporary -d 'With --apply: temporary (not written to lagd\'s configuration file)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from networkd" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from netplan" -l config -d 'With --write: lagd\'s configuration file' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from netplan" -s o -l output -d 'Write the lagd configuration (TOML) to this file instead of printing it' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from netplan" -l host-links -d 'The interfaces of the host the files are for, as `ip -j link` prints them there (default: this host\'s), to turn name globs and MAC matches into member names' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from netplan" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from netplan" -l write -d 'Add the aggregations to lagd\'s configuration file (comments kept); `lagctl reload` applies them. Refused if an aggregation or member is already there'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from netplan" -l apply -d 'Create the aggregations in the running lagd (CreateAggr)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from netplan" -s t -l temporary -d 'With --apply: temporary (not written to lagd\'s configuration file)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from netplan" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from nmconnection" -l config -d 'With --write: lagd\'s configuration file' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from nmconnection" -s o -l output -d 'Write the lagd configuration (TOML) to this file instead of printing it' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from nmconnection" -l host-links -d 'The interfaces of the host the files are for, as `ip -j link` prints them there (default: this host\'s), to turn name globs and MAC matches into member names' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from nmconnection" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from nmconnection" -l write -d 'Add the aggregations to lagd\'s configuration file (comments kept); `lagctl reload` applies them. Refused if an aggregation or member is already there'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from nmconnection" -l apply -d 'Create the aggregations in the running lagd (CreateAggr)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from nmconnection" -s t -l temporary -d 'With --apply: temporary (not written to lagd\'s configuration file)'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from nmconnection" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "ifupdown" -d 'Debian ifupdown bond stanzas (/etc/network/interfaces) to lagd configuration'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "networkd" -d 'systemd-networkd bonds: the bond\'s .netdev and the .network files of its members'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "netplan" -d 'netplan bonds (network: bonds:) and the ethernets they name'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "nmconnection" -d 'NetworkManager bond profiles in keyfile format (.nmconnection) and their ports'
complete -c lagctl -n "__fish_lagctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand completions" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand man" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand man" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand gen-docs" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand gen-docs" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand create-dt-domain" -l domain-id -d 'DT domain id (the same on both switches)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-dt-domain" -l peer-link -d 'The peer link interface' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-dt-domain" -l keepalive -d 'The keepalive interface' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-dt-domain" -l bridge -d 'The bridge lagd manages' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-dt-domain" -l role-priority -d 'Role priority (lower = primary)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand create-dt-domain" -l socket -d 'Control socket of lagd' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand create-dt-domain" -s t -l temporary -d 'Do not write the change to the configuration file'
complete -c lagctl -n "__fish_lagctl_using_subcommand create-dt-domain" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and not __fish_seen_subcommand_from distributed-trunk lacp help" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and not __fish_seen_subcommand_from distributed-trunk lacp help" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and not __fish_seen_subcommand_from distributed-trunk lacp help" -f -a "distributed-trunk" -d '`show distributed-trunk status`'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and not __fish_seen_subcommand_from distributed-trunk lacp help" -f -a "lacp" -d '`show lacp trunk [NAME]`'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and not __fish_seen_subcommand_from distributed-trunk lacp help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from distributed-trunk" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from distributed-trunk" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from distributed-trunk" -f -a "status" -d 'Domain, role, peer, paths, and each DT trunk\'s decision'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from distributed-trunk" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from lacp" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from lacp" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from lacp" -f -a "trunk" -d 'LACP state of the members of the DT trunks (or of trunk NAME)'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from lacp" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "distributed-trunk" -d '`show distributed-trunk status`'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "lacp" -d '`show lacp trunk [NAME]`'
complete -c lagctl -n "__fish_lagctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand sim" -l seed -d 'Seed for every random draw (overrides the scenario\'s)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand sim" -l pcap-dir -d 'Write one pcap of the slow-protocols frames of each link into DIR' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand sim" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand sim" -l json -d 'Print the run as JSON instead of text'
complete -c lagctl -n "__fish_lagctl_using_subcommand sim" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand demo" -l svg -d 'Where the real demo writes its plot (SVG)' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand demo" -l seed -d 'Seed (simulator only; overrides the demo\'s)' -r
complete -c lagctl -n "__fish_lagctl_using_subcommand demo" -l pcap-dir -d 'Write pcaps of the slow-protocols frames into DIR' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand demo" -l socket -d 'Control socket of lagd, for every verb that talks to it: `lagctl --socket PATH VERB ...` (as `ip -n`, `ovs-appctl -t`); also accepted after the verb, which wins when both are given' -r -F
complete -c lagctl -n "__fish_lagctl_using_subcommand demo" -l sim -d 'Run it in the simulator (default when not root or without network namespaces)'
complete -c lagctl -n "__fish_lagctl_using_subcommand demo" -l json -d 'Print the run as JSON instead of text'
complete -c lagctl -n "__fish_lagctl_using_subcommand demo" -s h -l help -d 'Print help'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "create-aggr" -d 'Create an aggregation (dladm create-aggr)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "add-aggr" -d 'Add member links to an aggregation'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "remove-aggr" -d 'Remove member links; each is drained first under marker protection (nothing lost)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "modify-aggr" -d 'Change the settings of an aggregation, live: only the options given change'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "delete-aggr" -d 'Delete an aggregation: members are released and restored'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "disable-member" -d 'Disable members without removing them (OVS bond/disable-slave): each is drained under marker protection (nothing lost or reordered), then carries no traffic; it stays a member, still collecting. Not saved: a restart of lagd enables every member'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "enable-member" -d 'Enable disabled members: each takes back its share of conversations, marker-protected'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "set-active-member" -d 'Active-backup: make LINK the active member now (OVS bond/set-active-slave); the traffic moves under marker protection and stays there until that member fails (non-revertive)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "show-hash" -d 'Show the distribution buckets with their member and load (as OVS bond/show), or with --flow which member carries a conversation and its bucket'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "events" -d 'Print lagd\'s events (-f: follow new ones as they happen)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "show-aggr" -d 'Show aggregations: members (default), LACP detail (-L), extended (-x), statistics (-s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "show-link" -d 'Show the links of the aggregations (-s: traffic statistics)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "monitor" -d 'Live view of an aggregation\'s members: rates, utilisation, failovers'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "state" -d 'The daemon\'s state (`state dump`: everything as JSON)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "diagnose" -d 'Check an aggregation for misconfigurations and explain how to fix them (exit 0 healthy, 1 findings, 2 error)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "reload" -d 'Reload lagd\'s configuration file and wait for the outcome: exit 1 with lagd\'s reason when it refused (the unit\'s `ExecReload=`, so `systemctl reload lagd` fails too)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "restart-daemon" -d 'Restart lagd keeping every aggregation (for an upgrade: the binary is read again)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "restore-links" -d 'Give members back from lagd\'s records when their lagd is gone for good (crashed, not to be restarted): each is restored exactly as before lagd took it; with --all, leftover aggregate interfaces are removed too. Needs no daemon; refuses while one runs'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "import" -d 'Import a configuration written for another tool'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "completions" -d 'Print a shell completion script'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "man" -d 'Print a man page (roff): lagctl(8), or a verb\'s (`lagctl man show-aggr` is lagctl-show-aggr(8)). Read with `lagctl man show-aggr | man -l -`'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "gen-docs" -d 'Write the man pages and completion scripts into DIR'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "create-dt-domain" -d 'Create the Distributed Trunking domain (the `[dt]` table) in a running lagd'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "show" -d 'Show state (`show distributed-trunk status`, `show lacp trunk [NAME]`)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "sim" -d 'Run a scenario in the deterministic simulator'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "demo" -d 'Run the demo: two hosts, four links, one cut at 10 s and restored at 20 s'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and not __fish_seen_subcommand_from create-aggr add-aggr remove-aggr modify-aggr delete-aggr disable-member enable-member set-active-member show-hash events show-aggr show-link monitor state diagnose reload restart-daemon restore-links import completions man gen-docs create-dt-domain show sim demo help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and __fish_seen_subcommand_from state" -f -a "dump" -d 'The whole daemon state as JSON (like `teamdctl state dump`)'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "ifupdown" -d 'Debian ifupdown bond stanzas (/etc/network/interfaces) to lagd configuration'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "networkd" -d 'systemd-networkd bonds: the bond\'s .netdev and the .network files of its members'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "netplan" -d 'netplan bonds (network: bonds:) and the ethernets they name'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "nmconnection" -d 'NetworkManager bond profiles in keyfile format (.nmconnection) and their ports'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "distributed-trunk" -d '`show distributed-trunk status`'
complete -c lagctl -n "__fish_lagctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "lacp" -d '`show lacp trunk [NAME]`'
