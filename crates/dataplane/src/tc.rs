//! The attach mode for kernels without tcx (Linux < 6.6: Debian 12 runs 6.1, RHEL 9 5.14):
//! a `clsact` qdisc and a `cls_bpf` filter in direct-action mode, set up with rtnetlink
//! (`RTM_NEWQDISC`, `RTM_NEWTFILTER`), running the very programs tcx would run (the return
//! codes are the same numbers, see [`crate::bpf::TCX_NEXT`]).
//!
//! Unlike a tcx link, a filter outlives the process that made it, so lagd names its filters
//! (`lagd_...`, at its own priorities) to find them again: to replace a program atomically
//! (a filter changed in place), to adopt them after a restart, and to remove what a crashed
//! lagd left behind ([`Netlink::remove_lagd_filters`]).

use crate::bpf::TcxHook;
use crate::error::{Error, Result};
use crate::netlink::{
    MsgBuilder, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
    Netlink, attr_string, attrs, cstr, nested, u32_at,
};

const RTM_NEWQDISC: u16 = 36;
const RTM_DELQDISC: u16 = 37;
const RTM_GETQDISC: u16 = 38;
const RTM_NEWTFILTER: u16 = 44;
const RTM_DELTFILTER: u16 = 45;
const RTM_GETTFILTER: u16 = 46;

const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_BPF_FD: u16 = 6;
const TCA_BPF_NAME: u16 = 7;
const TCA_BPF_FLAGS: u16 = 8;
const TCA_BPF_ID: u16 = 11;
const TCA_BPF_FLAG_ACT_DIRECT: u32 = 1;

/// `TC_H_CLSACT`: the clsact qdisc's parent (and, as major, its handle).
const TC_H_CLSACT: u32 = 0xffff_fff1;
const TC_H_MIN_INGRESS: u32 = 0xfff2;
const TC_H_MIN_EGRESS: u32 = 0xfff3;
/// `ETH_P_ALL` in network byte order, as a filter's protocol.
const ETH_P_ALL_BE: u32 = 0x0300;

/// A `cls_bpf` filter found on a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BpfFilter {
    /// Its priority (`tc`'s `pref`).
    pub pref: u16,
    /// The program's name as the filter reports it.
    pub name: String,
    /// The kernel's id of the program.
    pub prog_id: u32,
}

fn tcmsg(ifindex: u32, handle: u32, parent: u32, info: u32) -> [u8; 20] {
    let mut b = [0u8; 20];
    b[0] = libc::AF_UNSPEC as u8;
    b[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    b[8..12].copy_from_slice(&handle.to_ne_bytes());
    b[12..16].copy_from_slice(&parent.to_ne_bytes());
    b[16..20].copy_from_slice(&info.to_ne_bytes());
    b
}

fn parent_of(hook: TcxHook) -> u32 {
    (TC_H_CLSACT & 0xffff_0000)
        | match hook {
            TcxHook::Ingress => TC_H_MIN_INGRESS,
            TcxHook::Egress => TC_H_MIN_EGRESS,
        }
}

impl Netlink {
    /// Adds a `clsact` qdisc to `ifindex` (nothing if one is there).
    pub fn add_clsact(&mut self, ifindex: u32) -> Result<()> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(
            RTM_NEWQDISC,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            seq,
        );
        m.bytes(&tcmsg(ifindex, TC_H_CLSACT & 0xffff_0000, TC_H_CLSACT, 0))
            .attr(TCA_KIND, &cstr("clsact"));
        let msg = m.finish();
        match self.transact("RTM_NEWQDISC clsact", &msg, seq, |_, _| Ok(())) {
            Err(Error::Netlink { source, .. }) if source.raw_os_error() == Some(libc::EEXIST) => {
                Ok(())
            }
            other => other,
        }
    }

    /// Sets the `cls_bpf` direct-action filter at priority `pref` of `hook` of `ifindex` to
    /// the program `prog_fd` named `name` (adding the `clsact` qdisc if needed). An existing
    /// filter at that priority is replaced in place (atomically) unless `exclusive`, which
    /// then fails with `EEXIST`.
    pub fn set_bpf_filter(
        &mut self,
        ifindex: u32,
        hook: TcxHook,
        pref: u16,
        prog_fd: i32,
        name: &str,
        exclusive: bool,
    ) -> Result<()> {
        self.add_clsact(ifindex)?;
        let seq = self.next_seq();
        let mut flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
        if exclusive {
            flags |= NLM_F_EXCL;
        }
        let mut m = MsgBuilder::new(RTM_NEWTFILTER, flags, seq);
        let info = u32::from(pref) << 16 | ETH_P_ALL_BE;
        let fd = u32::try_from(prog_fd).unwrap_or(u32::MAX).to_ne_bytes();
        let name = cstr(name);
        let da = TCA_BPF_FLAG_ACT_DIRECT.to_ne_bytes();
        let opts = nested(&[
            (TCA_BPF_FD, &fd),
            (TCA_BPF_NAME, &name),
            (TCA_BPF_FLAGS, &da),
        ]);
        m.bytes(&tcmsg(ifindex, 1, parent_of(hook), info))
            .attr(TCA_KIND, &cstr("bpf"))
            .attr(TCA_OPTIONS | NLA_F_NESTED, &opts);
        let msg = m.finish();
        self.transact("RTM_NEWTFILTER bpf", &msg, seq, |_, _| Ok(()))
    }

    /// Removes the filters at priority `pref` of `hook` of `ifindex` (nothing if none).
    pub fn del_bpf_filter(&mut self, ifindex: u32, hook: TcxHook, pref: u16) -> Result<()> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, seq);
        let info = u32::from(pref) << 16 | ETH_P_ALL_BE;
        m.bytes(&tcmsg(ifindex, 0, parent_of(hook), info))
            .attr(TCA_KIND, &cstr("bpf"));
        let msg = m.finish();
        match self.transact("RTM_DELTFILTER", &msg, seq, |_, _| Ok(())) {
            Err(Error::Netlink { source, .. })
                if matches!(
                    source.raw_os_error(),
                    Some(libc::ENOENT | libc::EINVAL | libc::ENODEV)
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// The `cls_bpf` filters at `hook` of `ifindex` (none without a `clsact` qdisc).
    pub fn bpf_filters(&mut self, ifindex: u32, hook: TcxHook) -> Result<Vec<BpfFilter>> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, seq);
        m.bytes(&tcmsg(ifindex, 0, parent_of(hook), 0));
        let msg = m.finish();
        let mut out = Vec::new();
        let r = self.transact("RTM_GETTFILTER", &msg, seq, |ty, p| {
            if ty != RTM_NEWTFILTER {
                return Ok(());
            }
            let (Some(handle), Some(info)) = (u32_at(p, 8), u32_at(p, 16)) else {
                return Ok(());
            };
            let mut kind = String::new();
            let mut name = String::new();
            let mut prog_id = 0;
            for (t, d) in attrs(p.get(20..).unwrap_or(&[])) {
                match t {
                    TCA_KIND => kind = attr_string(d),
                    TCA_OPTIONS => {
                        for (t, d) in attrs(d) {
                            match t {
                                TCA_BPF_NAME => name = attr_string(d),
                                TCA_BPF_ID => prog_id = u32_at(d, 0).unwrap_or(0),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            if handle != 0 && kind == "bpf" {
                out.push(BpfFilter {
                    pref: (info >> 16) as u16,
                    name,
                    prog_id,
                });
            }
            Ok(())
        });
        match r {
            Ok(()) => Ok(out),
            Err(Error::Netlink { source, .. })
                if matches!(source.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Whether `ifindex` has a `clsact` qdisc.
    pub fn has_clsact(&mut self, ifindex: u32) -> Result<bool> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP, seq);
        m.bytes(&tcmsg(ifindex, 0, 0, 0));
        let msg = m.finish();
        let mut found = false;
        self.transact("RTM_GETQDISC", &msg, seq, |ty, p| {
            if ty != RTM_NEWQDISC || u32_at(p, 4) != Some(ifindex) {
                return Ok(());
            }
            for (t, d) in attrs(p.get(20..).unwrap_or(&[])) {
                if t == TCA_KIND && attr_string(d) == "clsact" {
                    found = true;
                }
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Removes the `clsact` qdisc of `ifindex`, and with it every filter under it (nothing
    /// if there is none).
    pub fn del_clsact(&mut self, ifindex: u32) -> Result<()> {
        let seq = self.next_seq();
        let mut m = MsgBuilder::new(RTM_DELQDISC, NLM_F_REQUEST | NLM_F_ACK, seq);
        m.bytes(&tcmsg(ifindex, TC_H_CLSACT & 0xffff_0000, TC_H_CLSACT, 0))
            .attr(TCA_KIND, &cstr("clsact"));
        let msg = m.finish();
        match self.transact("RTM_DELQDISC clsact", &msg, seq, |_, _| Ok(())) {
            Err(Error::Netlink { source, .. })
                if matches!(source.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Removes every `cls_bpf` filter whose program name starts with `lagd_` from both hooks
    /// of `ifindex` (what a lagd that did not stop cleanly left behind); returns how many.
    pub fn remove_lagd_filters(&mut self, ifindex: u32) -> Result<usize> {
        let mut n = 0;
        for hook in [TcxHook::Ingress, TcxHook::Egress] {
            for f in self.bpf_filters(ifindex, hook)? {
                if f.name.starts_with("lagd_") {
                    self.del_bpf_filter(ifindex, hook, f.pref)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_and_messages() {
        assert_eq!(parent_of(TcxHook::Ingress), 0xffff_fff2);
        assert_eq!(parent_of(TcxHook::Egress), 0xffff_fff3);
        let t = tcmsg(7, 1, 0xffff_fff3, 5 << 16 | ETH_P_ALL_BE);
        assert_eq!(u32_at(&t, 4), Some(7));
        assert_eq!(u32_at(&t, 16), Some(0x0005_0300));
        let n = nested(&[(TCA_BPF_FD, &[1, 0, 0, 0]), (TCA_BPF_NAME, b"ab\0")]);
        assert_eq!(n.len(), 8 + 8);
        let parsed: Vec<(u16, Vec<u8>)> = attrs(&n).map(|(t, d)| (t, d.to_vec())).collect();
        assert_eq!(parsed[0], (TCA_BPF_FD, vec![1, 0, 0, 0]));
        assert_eq!(attr_string(&parsed[1].1), "ab");
    }
}
