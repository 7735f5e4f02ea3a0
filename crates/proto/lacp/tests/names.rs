//! States are shown by their 802.1AX names (events, `show-aggr`, the simulator's log): a reader
//! holding the standard finds each one. Kills the Display mutants of the mutation runs
//! (selection.rs, periodic.rs, churn.rs, mux.rs, receive.rs).

use lagd_lacp::{ChurnState, MuxState, PeriodicState, ReceiveState, Selected};

#[test]
fn states_display_as_the_standard_names_them() {
    let selected: Vec<String> = [Selected::Selected, Selected::Unselected, Selected::Standby]
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(selected, ["SELECTED", "UNSELECTED", "STANDBY"]);
    let periodic: Vec<String> = [
        PeriodicState::NoPeriodic,
        PeriodicState::FastPeriodic,
        PeriodicState::SlowPeriodic,
        PeriodicState::PeriodicTx,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        periodic,
        [
            "NO_PERIODIC",
            "FAST_PERIODIC",
            "SLOW_PERIODIC",
            "PERIODIC_TX"
        ]
    );
    let churn: Vec<String> = [
        ChurnState::NoChurn,
        ChurnState::ChurnMonitor,
        ChurnState::Churn,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(churn, ["NO_CHURN", "CHURN_MONITOR", "CHURN"]);
    let mux: Vec<String> = [
        MuxState::Detached,
        MuxState::Waiting,
        MuxState::Attached,
        MuxState::Collecting,
        MuxState::Distributing,
        MuxState::CollectingDistributing,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        mux,
        [
            "DETACHED",
            "WAITING",
            "ATTACHED",
            "COLLECTING",
            "DISTRIBUTING",
            "COLLECTING_DISTRIBUTING"
        ]
    );
    let receive: Vec<String> = [
        ReceiveState::Initialize,
        ReceiveState::PortDisabled,
        ReceiveState::Expired,
        ReceiveState::LacpDisabled,
        ReceiveState::Defaulted,
        ReceiveState::Current,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        receive,
        [
            "INITIALIZE",
            "PORT_DISABLED",
            "EXPIRED",
            "LACP_DISABLED",
            "DEFAULTED",
            "CURRENT"
        ]
    );
}
