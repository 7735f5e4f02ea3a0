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

/// Names and defaults as the configuration and the logs write them: `ad_select`'s values (the
/// control plane reports a change of it by these names), a port without `priority` gets
/// 0x8000, and the data plane's event says "on"/"off". Kills config.rs' and event.rs' mutants
/// of the session-9 run.
#[test]
fn configuration_names_and_defaults_as_written() {
    use lagd_lacp::{AdSelect, Event, EventKind, PortConfig};
    let names: Vec<&str> = [AdSelect::Stable, AdSelect::Bandwidth, AdSelect::Count]
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(names, ["stable", "bandwidth", "count"]);
    let p: PortConfig = serde_json::from_str(r#"{"number":3,"mac":"02:00:00:00:00:03"}"#).unwrap();
    assert_eq!(p.priority, 0x8000);
    let e = Event {
        at: lagd_types::Instant::from_secs(1),
        port: Some(2),
        kind: EventKind::CollectingDistributing {
            collecting: true,
            distributing: false,
        },
    };
    assert_eq!(
        e.to_string(),
        "1.000s port 2: collecting on distributing off"
    );
}
