//! How sizes and durations read, the same on every page and in every mail: binary units
//! (KiB, MiB… in English; Kio, Mio… in French, with a decimal comma).

use crate::lang::Lang;

const UNITS_EN: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const UNITS_FR: [&str; 6] = ["o", "Kio", "Mio", "Gio", "Tio", "Pio"];

/// `42 B`, `1.5 MiB`; `42 o`, `1,5 Mio`.
pub fn size(bytes: u64, lang: Lang) -> String {
    let units = if lang == Lang::FR { UNITS_FR } else { UNITS_EN };
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} {}", units[0]);
    }
    let number = format!("{value:.1}");
    let number = if lang == Lang::FR {
        number.replace('.', ",")
    } else {
        number
    };
    format!("{number} {}", units[unit])
}

/// A stored byte count (never negative in practice).
pub fn size_i64(bytes: i64, lang: Lang) -> String {
    size(u64::try_from(bytes).unwrap_or(0), lang)
}

/// `2 h 05 min`, `3 min 12 s`, `4 s` (the same in both languages).
pub fn duration(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_each_language() {
        assert_eq!(size(42, Lang::EN), "42 B");
        assert_eq!(size(42, Lang::FR), "42 o");
        assert_eq!(size(1_572_864, Lang::EN), "1.5 MiB");
        assert_eq!(size(1_572_864, Lang::FR), "1,5 Mio");
        assert_eq!(size(1024, Lang::FR), "1,0 Kio");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(chrono::Duration::seconds(4)), "4 s");
        assert_eq!(duration(chrono::Duration::seconds(192)), "3 min 12 s");
        assert_eq!(duration(chrono::Duration::seconds(7500)), "2 h 05 min");
    }
}
