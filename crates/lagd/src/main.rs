//! `lagd`: the link aggregation daemon. The program is [`lagd::run`], whose documentation gives
//! the command line, the signals and the exit statuses.

fn main() -> std::process::ExitCode {
    lagd::run()
}
