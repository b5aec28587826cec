//! CPU and memory use of a process (the load generator itself or the server), from `/proc`.

/// User plus system CPU seconds of the load generator and of the server (when its pid is
/// known): at a moment, or used between two moments.
#[derive(Clone, Copy)]
pub(crate) struct CpuTimes {
    pub client: Option<f64>,
    pub server: Option<f64>,
}

impl CpuTimes {
    pub fn now(server_pid: Option<u32>) -> Self {
        Self {
            client: cpu_seconds("self"),
            server: server_pid.and_then(|p| cpu_seconds(&p.to_string())),
        }
    }

    /// The seconds used since `before`.
    pub fn since(self, before: CpuTimes) -> Self {
        let used = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
        Self {
            client: used(before.client, self.client),
            server: used(before.server, self.server),
        }
    }
}

/// User plus system CPU seconds of a process (`self` or a pid), from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0) // USER_HZ is 100 on Linux
}

/// `VmHWM` and `VmRSS` of a process, in KiB.
pub(crate) fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}
