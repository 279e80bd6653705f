//! Fuzz the message parser: any input must parse or give a FormatError inside the data, and
//! whatever parses must render, re-parse to the same message, and truncate cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plait_dns::Message;

fuzz_target!(|data: &[u8]| {
    match Message::parse(data) {
        Err(e) => assert!(e.offset <= data.len()),
        Ok(msg) => {
            let Ok(wire) = msg.render(None) else { return };
            assert_eq!(Message::parse(&wire).expect("a rendered message parses"), msg);
            let max = 12 + (data.len() / 2);
            if let Ok(cut) = msg.render(Some(max)) {
                assert!(cut.len() <= max);
                Message::parse(&cut).expect("a truncated message parses");
            }
        }
    }
});
