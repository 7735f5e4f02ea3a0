//! Receive steering on the aggregate (`rx_steering = auto | on | off`): whether the frames the
//! receive programs deliver go through the backlog of a CPU picked by their flow (RPS by flow,
//! [`lagd_dataplane::rps`]) or through the backlog of the CPU that received them.
//!
//! **Why `auto` steers with one collecting member too.** The receive program hands each frame
//! on with `netif_rx`, onto a CPU's backlog, and backlogs are emptied independently. Without
//! steering, the backlog is the one of the CPU the program runs on, and that CPU is the one the
//! member's receive path runs on: it moves between CPUs with one member as with two (a veth's
//! receive runs where its peer sent; a NIC's NAPI where its interrupt goes). Two frames of one
//! conversation that the member handed on in order, the first on CPU 0 and the next on CPU 1,
//! can then leave in the other order. That is what session 6 captured in `ns_offload` (frames
//! in order on B's member, out of order from B's aggregate, no Marker move near any of them:
//! not a move between members, d8258fa), and what steering by flow fixed. Reordering across
//! members needs a move, which the Marker protocol orders; the member's own CPU changes need
//! steering. `off` is for members that hand every conversation on from one CPU (a NIC queue
//! whose interrupt is bound to one CPU, or a member with RPS of its own): there it saves the
//! hand-off to another CPU.
//!
//! **Switching waits for a moment nothing is queued.** A switch under
//! traffic could: a frame queued on CPU 0's backlog before it, the next of its conversation on
//! CPU 1's after it, CPU 1 first. So lagd switches only at a moment no frame of the aggregate
//! is in any backlog, and checks that no frame arrived around it:
//! 1. the receive programs' delivered-frame count `c0`; then [`QUIET`] with no frame counted
//!    (a frame is counted just before the program's redirect, which queues it within the same
//!    softirq run: microseconds, far less than [`QUIET`]; so every frame counted before `c0` is
//!    queued by the end of it);
//! 2. every CPU's backlog empty ([`lagd_dataplane::rps::backlogs_empty`]): the frames counted
//!    before `c0` have all left (the backlogs hold other devices' frames too: a busy machine
//!    only delays the switch);
//! 3. the count still `c0`: no frame arrived in between; write the new RPS maps (paths and
//!    masks read before step 1, so that this is the writes alone);
//! 4. the count still `c0`: nothing arrived during the write either, so at the switch no frame
//!    of the aggregate was queued anywhere, and the next one has nothing to overtake.
//!
//! If a step fails, the switch waits for the next try (every counter harvest); a change waits
//! as long as the aggregate receives without a gap of [`QUIET`] (its status says so). A frame
//! counted between the last two counts (step 4: the write, and whatever delays lagd's thread
//! there) is the one case the check cannot exclude: it may have been queued under the old map
//! and the next frame under the new one. It is counted (`rx_steering_crossed`) and logged. That
//! window holds the writes (about 25 µs) and two counter reads: in `ns_offload`'s test (three
//! streams, 5 000 datagrams/s, a loaded machine, lagd's debug build) 4 of 16 switches in two
//! runs were crossed (12 of 16 while the window also listed the queues), none reordered (a
//! crossing frame is overtaken only if it is still queued when a later one of its
//! conversation leaves).
//! An exact switch needs the kernel's help: per-CPU counts of frames queued by the receive
//! programs and dequeued at the aggregate's ingress, and the program itself taking the new
//! setting at an instant they are equal (not built). Frames that lagd's user-space path writes
//! to the aggregate (members without a receive program) are not counted here.

use std::time::Duration;

use lagd_control::config::RxSteering;

/// The gap without a delivered frame that a switch needs (step 1).
pub(crate) const QUIET: Duration = Duration::from_micros(50);

/// The receive steering of one aggregate: what the setting asks and what is in force.
#[derive(Debug, Default)]
pub(crate) struct Steering {
    /// The aggregate's interface name (its receive queues' RPS maps), once set.
    ifname: Option<String>,
    /// Whether the setting asks for steering by flow.
    want: bool,
    /// What is in force (`None`: not read or written yet).
    now: Option<bool>,
    /// Switches during whose write a frame arrived.
    crossed: u64,
}

impl Steering {
    /// Takes the setting for aggregate `ifname` and switches if needed: at once if `idle`
    /// (no receive program delivers yet), else at the first moment nothing is queued
    /// (see the module docs). `frames`: what the receive programs delivered so far.
    pub(crate) fn set(
        &mut self,
        ifname: &str,
        setting: RxSteering,
        idle: bool,
        frames: impl Fn() -> u64,
    ) {
        self.ifname = Some(ifname.to_string());
        self.want = setting.by_flow();
        if self.now.is_none() {
            self.now = lagd_dataplane::rps::is_by_flow(ifname).ok();
        }
        if idle && self.now != Some(self.want) {
            self.write(ifname);
        }
        self.try_switch(frames);
    }

    /// Whether a change waits for its moment.
    pub(crate) fn pending(&self) -> bool {
        self.ifname.is_some() && self.now != Some(self.want)
    }

    /// One try at a pending switch (see the module docs).
    pub(crate) fn try_switch(&mut self, frames: impl Fn() -> u64) {
        if !self.pending() {
            return;
        }
        let Some(ifname) = self.ifname.clone() else {
            return;
        };
        let maps = match lagd_dataplane::rps::RpsMaps::of(&ifname) {
            Ok(m) => m,
            Err(e) => {
                self.failed(&ifname, &e);
                return;
            }
        };
        let c0 = frames();
        std::thread::sleep(QUIET);
        if frames() != c0 {
            return;
        }
        match lagd_dataplane::rps::backlogs_empty() {
            Ok(Some(true)) => {}
            Ok(Some(false)) => return,
            Ok(None) | Err(_) => {
                // No backlog lengths (Linux < 5.10): a longer quiet gap stands for them.
                std::thread::sleep(QUIET * 20);
                if frames() != c0 {
                    return;
                }
            }
        }
        if frames() != c0 {
            return;
        }
        let written = maps.write(self.want);
        let crossed = frames() != c0;
        match written {
            Ok(queues) => {
                tracing::debug!(aggregate = %ifname, queues, by_flow = self.want, "receive steering set");
                self.now = Some(self.want);
            }
            Err(e) => self.failed(&ifname, &e),
        }
        if crossed {
            self.crossed += 1;
            tracing::warn!(
                aggregate = %ifname,
                "rx_steering: a frame arrived during the switch; it may have been overtaken"
            );
        }
    }

    fn write(&mut self, ifname: &str) {
        match lagd_dataplane::rps::set_by_flow(ifname, self.want) {
            Ok(queues) => {
                tracing::debug!(aggregate = %ifname, queues, by_flow = self.want, "receive steering set");
                self.now = Some(self.want);
            }
            Err(e) => self.failed(ifname, &e),
        }
    }

    fn failed(&mut self, ifname: &str, e: &lagd_dataplane::Error) {
        tracing::warn!(
            aggregate = %ifname,
            "receive steering not set ({e}): frames of one conversation received on two CPUs may be delivered out of order"
        );
        // Not retried: the same error would come again.
        self.now = Some(self.want);
    }

    /// What is in force, as `show-aggr` prints it, and the switches crossed by a frame.
    pub(crate) fn status(&self) -> (Option<String>, u64) {
        let name = |by_flow: bool| if by_flow { "by-flow" } else { "off" };
        let s = match self.now {
            None => None,
            Some(now) if now == self.want || self.ifname.is_none() => Some(name(now).to_string()),
            Some(now) => Some(format!(
                "{} (to {}: waiting for a moment with no frame queued)",
                name(now),
                name(self.want)
            )),
        };
        (s, self.crossed)
    }
}
