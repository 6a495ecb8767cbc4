//! Host↔device copy time, as a GPU backend reports it: how much of a proof went to moving
//! data over the bus rather than computing. The stage times of a proof contain these copies
//! (the quotient's uploads, the scalars' upload, each MSM's window sums), so they are shown as
//! "of which" rows, never added to the stages.

use std::time::Duration;

/// Copies between host and device memory, timed on the device (an event pair around each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferTimes {
    /// Device time of host → device copies.
    pub to_device: Duration,
    /// Bytes copied host → device.
    pub to_device_bytes: u64,
    /// Device time of device → host copies.
    pub from_device: Duration,
    /// Bytes copied device → host.
    pub from_device_bytes: u64,
    /// Number of copies (both directions).
    pub copies: u64,
}

impl TransferTimes {
    /// The copies between an `earlier` reading of a backend's running totals and this one.
    pub fn since(&self, earlier: &TransferTimes) -> TransferTimes {
        TransferTimes {
            to_device: self.to_device.saturating_sub(earlier.to_device),
            to_device_bytes: self.to_device_bytes.saturating_sub(earlier.to_device_bytes),
            from_device: self.from_device.saturating_sub(earlier.from_device),
            from_device_bytes: self
                .from_device_bytes
                .saturating_sub(earlier.from_device_bytes),
            copies: self.copies.saturating_sub(earlier.copies),
        }
    }

    /// Adds `other`'s copies to these (the totals of several streams).
    pub fn accumulate(&mut self, other: &TransferTimes) {
        self.to_device += other.to_device;
        self.to_device_bytes += other.to_device_bytes;
        self.from_device += other.from_device;
        self.from_device_bytes += other.from_device_bytes;
        self.copies += other.copies;
    }

    /// Adds one copy of `bytes` that took `time`, in the direction given.
    pub fn add(&mut self, to_device: bool, bytes: u64, time: Duration) {
        if to_device {
            self.to_device += time;
            self.to_device_bytes += bytes;
        } else {
            self.from_device += time;
            self.from_device_bytes += bytes;
        }
        self.copies += 1;
    }

    /// `(row name, time, bytes)` for each direction, for reports.
    pub fn rows(&self) -> [(&'static str, Duration, u64); 2] {
        [
            ("copies host→device", self.to_device, self.to_device_bytes),
            (
                "copies device→host",
                self.from_device,
                self.from_device_bytes,
            ),
        ]
    }
}

/// One report line for a row of [`TransferTimes::rows`]: time, size and achieved rate.
pub fn describe_copies(time: Duration, bytes: u64) -> String {
    let ms = time.as_secs_f64() * 1e3;
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if time.is_zero() {
        return format!("{ms:.1} ms ({mib:.1} MiB)");
    }
    format!(
        "{ms:.1} ms ({mib:.1} MiB, {:.1} GB/s)",
        bytes as f64 / time.as_secs_f64() / 1e9
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_the_difference_of_running_totals() {
        let mut totals = TransferTimes::default();
        totals.add(true, 100, Duration::from_micros(5));
        let before = totals;
        totals.add(true, 64, Duration::from_micros(3));
        totals.add(false, 32, Duration::from_micros(2));
        let span = totals.since(&before);
        assert_eq!(span.to_device_bytes, 64);
        assert_eq!(span.to_device, Duration::from_micros(3));
        assert_eq!(span.from_device_bytes, 32);
        assert_eq!(span.from_device, Duration::from_micros(2));
        assert_eq!(span.copies, 2);
    }

    #[test]
    fn describe_copies_gives_the_rate() {
        assert_eq!(
            describe_copies(Duration::from_millis(2), 20_000_000),
            "2.0 ms (19.1 MiB, 10.0 GB/s)"
        );
        assert_eq!(describe_copies(Duration::ZERO, 0), "0.0 ms (0.0 MiB)");
    }
}
