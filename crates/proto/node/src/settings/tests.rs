//! The settings model: one vocabulary, one patch, one resolve, one translation to the cores.

use super::*;
use lagd_agg::lagd_distrib::{HashPolicy, Mode};
use lagd_agg::lagd_lacp::{FallbackConfig, FallbackKind};
use lagd_types::{Duration, MacAddr, SystemId};
use serde::Deserialize;
use std::str::FromStr;

/// Every link exists.
struct AnyLinks;
impl LinkEnv for AnyLinks {
    fn link_exists(&self, _name: &str) -> bool {
        true
    }
}

#[test]
fn config_translation() {
    let mut s = AggrSpec::new("aggr1", &["eth1", "eth2"]);
    s.lacp_timer = Some(LacpTimeout::Long);
    s.fallback = Some(Fallback::Static);
    s.max_active = Some(2);
    s.system_priority = Some(10);
    s.policy = Some("L2".into());
    s.rebalance_interval = Some("off".into());
    s.port
        .insert("eth2".into(), PortSettings { priority: Some(7) });
    let r = s.resolve(&AnyLinks).unwrap();
    let mac: MacAddr = "02:00:00:00:00:09".parse().unwrap();
    let c = r.aggregation_config(r.system(mac));
    assert_eq!(c.lacp.system, SystemId::new(10, mac));
    assert_eq!(c.lacp.mode, LacpActivity::Active);
    assert_eq!(c.lacp.timer, LacpTimeout::Long);
    assert_eq!(c.lacp.max_active, Some(2));
    assert_eq!(
        c.lacp.fallback,
        Some(FallbackConfig {
            timeout: Duration::from_secs(6),
            kind: FallbackKind::Static
        })
    );
    assert_eq!(c.distributor.mode, Mode::Hash);
    assert_eq!(c.distributor.policy, HashPolicy::from_str("L2").unwrap());
    assert_eq!(c.distributor.rebalance_interval, None);
    let p = r.port_config("eth2", 2, mac);
    assert_eq!((p.number, p.priority), (2, 7));
    assert_eq!(r.port_config("eth1", 1, mac).priority, 32768);

    let mut st = AggrSpec::new("a", &["eth1"]);
    st.mode = Some(AggrMode::Static);
    let c = {
        let r = st.resolve(&AnyLinks).unwrap();
        r.aggregation_config(r.system(mac))
    };
    assert_eq!(c.lacp.mode, LacpActivity::Off);
    let mut ab = AggrSpec::new("a", &["eth1"]);
    ab.mode = Some(AggrMode::ActiveBackup);
    let c = {
        let r = ab.resolve(&AnyLinks).unwrap();
        r.aggregation_config(r.system(mac))
    };
    assert_eq!(c.distributor.mode, Mode::ActiveBackup);
}

/// The mode and LACP activity a change leaves, applied over `current`.
fn after(current: AggrSettings, change: AggrSettings) -> (Option<AggrMode>, Option<LacpActivity>) {
    let s = current.with(&change);
    (s.mode, s.lacp_mode)
}

fn lacp(a: LacpActivity) -> AggrSettings {
    AggrSettings {
        lacp_mode: Some(a),
        ..AggrSettings::default()
    }
}

fn mode(m: AggrMode) -> AggrSettings {
    AggrSettings {
        mode: Some(m),
        ..AggrSettings::default()
    }
}

#[test]
fn lacp_off_alone_means_a_static_trunk() {
    let o = lacp(LacpActivity::Off);
    assert_eq!(
        after(AggrSettings::default(), o.clone()),
        (Some(AggrMode::Static), Some(LacpActivity::Off))
    );
    // On an active-backup aggregation, lacp_mode = off only turns LACP off.
    assert_eq!(
        after(mode(AggrMode::ActiveBackup), o),
        (Some(AggrMode::ActiveBackup), Some(LacpActivity::Off))
    );
}

#[test]
fn lacp_on_a_static_trunk_turns_mode_lacp() {
    let static_trunk = AggrSettings {
        mode: Some(AggrMode::Static),
        lacp_mode: Some(LacpActivity::Off),
        ..AggrSettings::default()
    };
    assert_eq!(
        after(static_trunk.clone(), lacp(LacpActivity::Passive)),
        (Some(AggrMode::Lacp), Some(LacpActivity::Passive))
    );
    assert_eq!(
        after(static_trunk, mode(AggrMode::Lacp)),
        (Some(AggrMode::Lacp), Some(LacpActivity::Active))
    );
    assert_eq!(
        after(lacp(LacpActivity::Active), mode(AggrMode::Static)),
        (Some(AggrMode::Static), Some(LacpActivity::Off))
    );
}

#[test]
fn a_change_replaces_what_it_names_and_keeps_the_rest() {
    let mut base = AggrSettings {
        mtu: Some(9000),
        max_active: Some(3),
        port: [("eth1".to_string(), PortSettings { priority: Some(1) })]
            .into_iter()
            .collect(),
        ..AggrSettings::default()
    };
    base.apply(&AggrSettings {
        lacp_timer: Some(LacpTimeout::Long),
        max_active: Some(0),
        port: [("eth2".to_string(), PortSettings { priority: Some(2) })]
            .into_iter()
            .collect(),
        ..AggrSettings::default()
    });
    assert_eq!(base.mtu, Some(9000));
    assert_eq!(base.lacp_timer, Some(LacpTimeout::Long));
    assert_eq!(base.max_active, None, "0 removes the limit");
    assert_eq!(base.port["eth1"].priority, Some(1));
    assert_eq!(base.port["eth2"].priority, Some(2));
}

#[test]
fn one_name_per_setting_in_file_json_and_command_line() {
    let names = names();
    for n in [
        "mode",
        "lacp_mode",
        "lacp_timer",
        "mac",
        "min_links",
        "fallback_timeout",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    // Older file spellings still read, and are written under the one name.
    let s: AggrSettings = toml::from_str("lacp = \"passive\"\ntimer = \"long\"").unwrap();
    assert_eq!(s.lacp_mode, Some(LacpActivity::Passive));
    assert_eq!(s.lacp_timer, Some(LacpTimeout::Long));
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(json, r#"{"lacp_mode":"passive","lacp_timer":"long"}"#);
    assert_eq!(
        s.render(Syntax::Cli),
        "--lacp-mode passive --lacp-timer long"
    );
    assert_eq!(
        s.render(Syntax::File),
        "lacp_mode = \"passive\"\nlacp_timer = \"long\""
    );
    assert_eq!(values::<LacpActivity>(), ["active", "passive", "off"]);
    assert_eq!(
        values::<AggrMode>(),
        [
            "lacp",
            "static",
            "active-backup",
            "round-robin",
            "broadcast",
            "transmit-lb",
            "adaptive-lb"
        ]
    );
}

#[test]
fn errors_speak_the_language_of_the_interface() {
    let mut s = AggrSpec::new("aggr1", &["eth1"]);
    s.min_links = Some(3);
    s.max_active = Some(2);
    let e = s.resolve(&AnyLinks).unwrap_err();
    assert_eq!(
        e.render(Syntax::File),
        "aggregation `aggr1`: max_active: 2 is below min_links = 3: the aggregate could never be up"
    );
    assert_eq!(
        e.render(Syntax::Cli),
        "aggregation `aggr1`: --max-active: 2 is below --min-links 3: the aggregate could never be up"
    );
    assert_eq!(e.to_string(), e.render(Syntax::File));
}

#[test]
fn a_spec_reads_flat_and_refuses_unknown_keys_by_name() {
    let spec: AggrSpec = toml::from_str("name = \"a\"\nlinks = [\"e1\"]\nmtu = 9000\n").unwrap();
    assert_eq!(spec.links, ["e1"]);
    assert_eq!(spec.mtu, Some(9000));
    let back: AggrSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
    let e = toml::from_str::<AggrSpec>("name = \"a\"\nspeed = 5\n").unwrap_err();
    assert!(e.to_string().contains("unknown field `speed`"), "{e}");
}

/// Diagnosis names the settings its fixes change with this model's names.
#[test]
fn diagnose_fixes_name_settings_of_this_model() {
    use lagd_agg::diagnose::Setting;
    use serde::de::IntoDeserializer;
    for &v in values::<Setting>() {
        let d: serde::de::value::StrDeserializer<serde::de::value::Error> = v.into_deserializer();
        let s = Setting::deserialize(d).unwrap();
        assert_eq!(s.key(), v);
        assert!(names().contains(&v), "diagnose names `{v}`, not a setting");
    }
}

#[test]
fn offload_reads_auto_on_off_and_the_old_booleans() {
    for (text, want) in [
        ("offload = \"auto\"", Offload::Auto),
        ("offload = \"on\"", Offload::On),
        ("offload = \"off\"", Offload::Off),
        ("offload = true", Offload::On),
        ("offload = false", Offload::Off),
    ] {
        let s: AggrSettings = toml::from_str(text).unwrap();
        assert_eq!(s.offload, Some(want), "{text}");
    }
    assert!(toml::from_str::<AggrSettings>("offload = \"fast\"").is_err());
    assert_eq!(values::<Offload>(), ["auto", "on", "off"]);
    let mut s = AggrSpec::new("aggr1", &["eth1"]);
    assert_eq!(s.resolve_settings().unwrap().offload, Offload::Auto);
    s.apply(&AggrSettings {
        offload: Some(Offload::Off),
        ..Default::default()
    });
    assert_eq!(s.offload, Some(Offload::Off));
    assert_eq!(s.render(Syntax::File), "offload = \"off\"");
}

#[test]
fn rx_steering_reads_auto_on_off() {
    for (text, want) in [
        ("rx_steering = \"auto\"", RxSteering::Auto),
        ("rx_steering = \"on\"", RxSteering::On),
        ("rx_steering = \"off\"", RxSteering::Off),
    ] {
        let s: AggrSettings = toml::from_str(text).unwrap();
        assert_eq!(s.rx_steering, Some(want), "{text}");
    }
    assert!(toml::from_str::<AggrSettings>("rx_steering = true").is_err());
    assert_eq!(values::<RxSteering>(), ["auto", "on", "off"]);
    let mut s = AggrSpec::new("aggr1", &["eth1"]);
    let r = s.resolve_settings().unwrap();
    assert_eq!(r.rx_steering, RxSteering::Auto);
    assert!(r.rx_steering.by_flow());
    s.apply(&AggrSettings {
        rx_steering: Some(RxSteering::Off),
        ..Default::default()
    });
    assert!(!s.resolve_settings().unwrap().rx_steering.by_flow());
    assert_eq!(s.render(Syntax::File), "rx_steering = \"off\"");
}

#[test]
fn switch_independent_modes() {
    use lagd_agg::alb::AlbMode;
    let mac: MacAddr = "02:00:00:00:00:09".parse().unwrap();
    for (m, want) in [
        (AggrMode::TransmitLb, AlbMode::Transmit),
        (AggrMode::AdaptiveLb, AlbMode::Adaptive),
    ] {
        let mut s = AggrSpec::new("a", &["eth1", "eth2"]);
        s.mode = Some(m);
        let r = s.resolve(&AnyLinks).unwrap();
        let c = r.aggregation_config(r.system(mac));
        assert_eq!(c.lacp.mode, LacpActivity::Off);
        assert_eq!(c.distributor.mode, Mode::Hash);
        let alb = c.alb.expect("a balancer");
        assert_eq!((alb.mode, alb.aggregate_mac), (want, mac));
        // The switch answers no Marker: moves pause instead of waiting for marker_timeout.
        assert!(
            matches!(
                c.distributor.move_protection,
                lagd_agg::lagd_distrib::MoveProtection::CollectorDelay(_)
            ),
            "{:?}",
            c.distributor.move_protection
        );
        // LACP is refused with words; the kernel fast path carries these modes.
        s.lacp_mode = Some(LacpActivity::Active);
        let e = s.resolve(&AnyLinks).unwrap_err().render(Syntax::Cli);
        assert!(e.contains(m.as_str()) && e.contains("--lacp-mode"), "{e}");
        s.lacp_mode = None;
        for o in [Offload::On, Offload::Auto, Offload::Off] {
            s.offload = Some(o);
            assert!(s.resolve(&AnyLinks).is_ok());
        }
    }
    let mut st = AggrSpec::new("a", &["eth1"]);
    st.mode = Some(AggrMode::Static);
    let r = st.resolve(&AnyLinks).unwrap();
    assert!(r.aggregation_config(r.system(mac)).alb.is_none());
}

/// The interfaces eth1, eth2 and lo.
struct ThreeLinks;

impl LinkEnv for ThreeLinks {
    fn link_exists(&self, name: &str) -> bool {
        self.link_names().iter().any(|n| n == name)
    }
    fn link_names(&self) -> Vec<String> {
        vec!["eth1".into(), "eth2".into(), "lo".into()]
    }
}

#[test]
fn every_unknown_link_is_named_at_once_with_close_names() {
    let s = AggrSpec::new("aggr1", &["eht1", "eth2", "wlan7", "eth3"]);
    let e = s.check_interfaces(&ThreeLinks).unwrap_err();
    assert_eq!(
        e.render(Syntax::Cli),
        "aggregation `aggr1`: links: unknown links `eht1` (did you mean `eth1`?), `wlan7`, \
         `eth3` (did you mean `eth1` or `eth2`?): no such interface"
    );
    let one = AggrSpec::new("aggr1", &["eth1", "etth2"]);
    assert_eq!(
        one.check_interfaces(&ThreeLinks).unwrap_err().message,
        "unknown link `etth2` (did you mean `eth2`?): no such interface"
    );
    assert!(
        AggrSpec::new("aggr1", &["eth1", "eth2"])
            .check_interfaces(&ThreeLinks)
            .is_ok()
    );
}

#[test]
fn a_file_written_with_bonding_words_is_answered_in_lagds() {
    let e = toml::from_str::<AggrSpec>("name = \"a\"\nlinks = [\"eth1\"]\nmode = \"802.3ad\"")
        .unwrap_err();
    assert!(
        e.message()
            .ends_with("(did you mean `lacp`? `802.3ad` is bonding's mode)"),
        "{e}"
    );
    let e = toml::from_str::<AggrSpec>("name = \"a\"\nlinks = [\"eth1\"]\ntimer = \"fast\"")
        .unwrap_err();
    assert!(
        e.message().ends_with("`fast` is bonding's lacp_rate)"),
        "{e}"
    );
    let mut s = AggrSpec::new("a", &["eth1"]);
    s.policy = Some("layer3+4".into());
    let e = s.resolve_settings().unwrap_err();
    assert!(
        e.message
            .ends_with("(did you mean `L3,L4`? `layer3+4` is bonding's xmit_hash_policy)"),
        "{e}"
    );
}

#[test]
fn aggregate_wait_reaches_the_lacp_core() {
    let mac: MacAddr = "02:00:00:00:00:09".parse().unwrap();
    let mut s = AggrSpec::new("aggr1", &["eth1"]);
    let r = s.resolve(&AnyLinks).unwrap();
    let c = r.aggregation_config(r.system(mac));
    assert_eq!(
        c.lacp.aggregate_wait,
        Duration::from_secs(2),
        "802.1AX default"
    );
    s.aggregate_wait = Some("500ms".into());
    let r = s.resolve(&AnyLinks).unwrap();
    let c = r.aggregation_config(r.system(mac));
    assert_eq!(c.lacp.aggregate_wait, Duration::from_millis(500));
    s.aggregate_wait = Some("0ms".into());
    let r = s.resolve(&AnyLinks).unwrap();
    assert_eq!(r.aggregate_wait, Duration::ZERO, "attaches at once");
    s.aggregate_wait = Some("soon".into());
    let e = s.resolve(&AnyLinks).unwrap_err();
    assert_eq!(e.field, "aggregate_wait");
}
