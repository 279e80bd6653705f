//! plait-ssh against fixed packets made by an independent Python implementation (the
//! reference in tests/conch/ssh/test_packet.py, on `cryptography`), round trips of every
//! cipher × MAC across any chunking, and the limits.

use plait_ssh::{cipher_spec, mac_spec, PacketError, PacketLayer, CIPHERS, MACS};

/// (cipher, mac, packet at seq 3, packet at seq 4): key bytes 0,1,2..., IV 100,101,...,
/// MAC key 200,201,...; payloads below; every padding byte 0x5a.
const VECTORS: &[(&str, Option<&str>, &str, &str)] = &[
    ("chacha20-poly1305@openssh.com", None, "fb1a9292841b6cd75323d051e321937dd5c7f72d14ab29b59a87051db9d3971e72feb514f83975051cb1fc2f", "0b21f5c46d02af057f98b6268005f63e174b82b4e7ed003bb5c84db184890b5b3197844232f7f11af2aee973515cec6a7659635e332f4375bab395b8cbc6cce085c3a751"),
    ("aes128-gcm@openssh.com", None, "00000020163c3ec9ba6bccdaf0503867e8ea4a8243ff1d8dc8f38700ae35ebcde6a8ada9b4d751b9f697af2ef89af09aa239afd2", "00000030687a731ab4421df07bf5b55732f081ba3be81a9954700f361c9a13fdaf63affb7a3b4b0093d390435a6351ae41a5f07f5de270d8be9144a8585c6d9a951311fc"),
    ("aes256-gcm@openssh.com", None, "000000204445ae0a188022be550c309fb4450b9331b56378d136a928fd8bf612a1f9ff12713b1b029a123fe25ed442266a7fb126", "00000030e5194a179e6dde4274e610e926346cfe6c539a2f737e45420dc70a5eedf719b81279e57fda58c067790d83eb39bad545f3729001db8d3513099ac67808584b54"),
    ("aes128-ctr", Some("hmac-sha2-256-etm@openssh.com"), "0000002092e11ef0dc759a5866697affffc5e5f51ff805b5047aba8371eb6e523aa3e500d28e5573b05c971d9c2a5850091be05276d36223929052085bf62bdb84718d81", "0000003005586fd0d2f56f604dd12f6e56f6694358c3add89e5a28d5d550d8faad19db9d900ecbff4564fceeff41504c894d349a4e95e393f6330b80dd42c7fd99668d1583d709e11a52a2d48f49da8c98732772"),
    ("aes128-ctr", Some("hmac-sha2-512-etm@openssh.com"), "0000002092e11ef0dc759a5866697affffc5e5f51ff805b5047aba8371eb6e523aa3e50080f67ed756320d6139d35d8e97bb14341bae0635c991da2459b95a6a40b14948d82772ac095b32333d73bda20cd42f5f5d7c99db7a0c11dcad6f79143459c150", "0000003005586fd0d2f56f604dd12f6e56f6694358c3add89e5a28d5d550d8faad19db9d900ecbff4564fceeff41504c894d349af4e224a18be8c957d500cb7b4e3d661a2796d08d997e2ac24f65a887f3f59cc7b4fc793e34f0c03b6001789801c84ed7a33180a80fcd86a5a5cd9a35bcde1fe7"),
    ("aes128-ctr", Some("hmac-sha2-256"), "9ebf6e80b5429e146c6e61a8fa8bebec02af01a92d5785ab71eb6e523aa3e500e7502a2381ba0a8339a6a01f38cd67f62e3c3a79dda46fd14102e430911741c4", "035a6fedc2f46b6449d523625afa6d475cc7b1c482462cd1d154d4f6a115df99940af7c37958f8eafb452e33f530349a501b9a34796055df819e727be65824dacce8253f1789d840d5cb0ec6bb99f582a79d8df956075fe754fbeca3ab4504f6"),
    ("aes128-ctr", Some("hmac-sha2-512"), "9ebf6e80b5429e146c6e61a8fa8bebec02af01a92d5785ab71eb6e523aa3e500bf23601c4168cf6d8659255f5b844740cf94c12429c59bd2ee5a5c35c09de835df7b96377e7293d83aed46483061fe69bc212fe402a93061abeae9db775205c4", "035a6fedc2f46b6449d523625afa6d475cc7b1c482462cd1d154d4f6a115df99940af7c37958f8eafb452e33f530349a501b9a34796055df819e727be65824da9bc19cb82c001ad2bd367128ab7f23f94b50eebbc3d90182af6a2b30153ce4344113849840088ccf548e66eea85634dbf7539b7e24b6ced8d97721476a3bcfa3"),
    ("aes192-ctr", Some("hmac-sha2-256-etm@openssh.com"), "00000020bfc9e2e55d92d8d3b6939649436be6fc5b41f59ad9248feaa1b6b12e50e3db3d0801d1234dff541bee7a64e0999c70bdc54b6146ee2f410bebd231b93b632f82", "00000030c16372f5bdb0276fc222dab36fea4a77d4b21889aeadcf4d71134b5ab9b8e1268ad2c3743626c945dfcb629280588c8c69479b8553958cb4f93e8d8bfa491dbd3d526ecf2f2b6feae2d6257e25b74f3a"),
    ("aes192-ctr", Some("hmac-sha2-512-etm@openssh.com"), "00000020bfc9e2e55d92d8d3b6939649436be6fc5b41f59ad9248feaa1b6b12e50e3db3d92b5495c17d6dfb8f0191e37f3ef0a7c01949b1ff923f7639d51f84b54942ad91e8cec340d09aea8f11d195bb945f73692f480db2135545e92de8b1f42e922e3", "00000030c16372f5bdb0276fc222dab36fea4a77d4b21889aeadcf4d71134b5ab9b8e1268ad2c3743626c945dfcb629280588c8c27acf7ed37fbd200c11712eedb9d6baa2d6aaf015d52bbffbd57280809440d000b25ae6fa4bfc283fc10dde17ee0508527d4361756a18382ead4e218018f2856"),
    ("aes192-ctr", Some("hmac-sha2-256"), "b397929534a5dc9fbc948d1e4625e8e54616f186f009b0c2a1b6b12e50e3db3de7502a2381ba0a8339a6a01f38cd67f62e3c3a79dda46fd14102e430911741c4", "c76172c8adb1236bc626d6bf63e64e73d0b60495b2b1cb4975174756b5b4e5228ed6ff480a1acd41dbcf1cedfc258c8cf38cec4dd962914f1f74b361795e8c99cce8253f1789d840d5cb0ec6bb99f582a79d8df956075fe754fbeca3ab4504f6"),
    ("aes192-ctr", Some("hmac-sha2-512"), "b397929534a5dc9fbc948d1e4625e8e54616f186f009b0c2a1b6b12e50e3db3dbf23601c4168cf6d8659255f5b844740cf94c12429c59bd2ee5a5c35c09de835df7b96377e7293d83aed46483061fe69bc212fe402a93061abeae9db775205c4", "c76172c8adb1236bc626d6bf63e64e73d0b60495b2b1cb4975174756b5b4e5228ed6ff480a1acd41dbcf1cedfc258c8cf38cec4dd962914f1f74b361795e8c999bc19cb82c001ad2bd367128ab7f23f94b50eebbc3d90182af6a2b30153ce4344113849840088ccf548e66eea85634dbf7539b7e24b6ced8d97721476a3bcfa3"),
    ("aes256-ctr", Some("hmac-sha2-256-etm@openssh.com"), "000000209f86614cd749cf6d15e3d0dc889ff1b2c69eee775a894f82282cce00c0d6bbc8eb43428020015e96ad85f0b1ef1b78ad68b78b18a17776bd926018c7439a958e", "00000030c6c39a50d4aaa95da459b086608d8902324a4aca08a26f02576febb3ed7837f9bd6ed60d3fba78fe651bfdc08bf6d7134932fc1c18e3b0879c6be4084ce4eb3de3a74a94f0d05897cd3751e12ee30669"),
    ("aes256-ctr", Some("hmac-sha2-512-etm@openssh.com"), "000000209f86614cd749cf6d15e3d0dc889ff1b2c69eee775a894f82282cce00c0d6bbc885a3a4b4dfd35891c8055c92521d3524afded61c22c75cf7e52b3a86fe15c744f1286d1156f09a8cb9fe0c8a34344021f2989bc85c530ad3b2cd85b03f002c7e", "00000030c6c39a50d4aaa95da459b086608d8902324a4aca08a26f02576febb3ed7837f9bd6ed60d3fba78fe651bfdc08bf6d713de2e95786a3349683f0af3b56a1481b79679a98a8422386c7c6cec8b7fb6506d525f54a9614e2344189909f9ce8890c9187ffe1a90b4a1617671b716e932ab84"),
    ("aes256-ctr", Some("hmac-sha2-256"), "93d8113cbe7ecb211fe4cb8b8dd1ffabdbc9ea6b73a470aa282cce00c0d6bbc8e7502a2381ba0a8339a6a01f38cd67f62e3c3a79dda46fd14102e430911741c4", "c0c19a6dc4abad59a05dbc8a6c818d06364e56d614be6b06536be7bfe17433fdb96aea3103867cfa611f83bff78bd7133f762d63b839033723c1edfd895e55a2cce8253f1789d840d5cb0ec6bb99f582a79d8df956075fe754fbeca3ab4504f6"),
    ("aes256-ctr", Some("hmac-sha2-512"), "93d8113cbe7ecb211fe4cb8b8dd1ffabdbc9ea6b73a470aa282cce00c0d6bbc8bf23601c4168cf6d8659255f5b844740cf94c12429c59bd2ee5a5c35c09de835df7b96377e7293d83aed46483061fe69bc212fe402a93061abeae9db775205c4", "c0c19a6dc4abad59a05dbc8a6c818d06364e56d614be6b06536be7bfe17433fdb96aea3103867cfa611f83bff78bd7133f762d63b839033723c1edfd895e55a29bc19cb82c001ad2bd367128ab7f23f94b50eebbc3d90182af6a2b30153ce4344113849840088ccf548e66eea85634dbf7539b7e24b6ced8d97721476a3bcfa3"),
    ("none", None, "0000001c085e706c616974206b6e6f776e20616e737765725a5a5a5a5a5a5a5a", "000000340a02000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526275a5a5a5a5a5a5a5a5a5a"),
    ("none", Some("hmac-sha2-256-etm@openssh.com"), "00000018045e706c616974206b6e6f776e20616e737765725a5a5a5a49f7f7a218765069efc55d76df2502c62eb7f17e98793a070437bc31c8c1b603", "000000300602000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526275a5a5a5a5a5a4ca8c3d5e110fb4607cfadf7271999eb59bf337237a2c74891c1e8368e077124"),
    ("none", Some("hmac-sha2-512"), "0000001c085e706c616974206b6e6f776e20616e737765725a5a5a5a5a5a5a5abf23601c4168cf6d8659255f5b844740cf94c12429c59bd2ee5a5c35c09de835df7b96377e7293d83aed46483061fe69bc212fe402a93061abeae9db775205c4", "000000340a02000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526275a5a5a5a5a5a5a5a5a5ac4b39794121548474e5368fe441c1273e920889d8b59e8282426421a261f0a73b50ecaffb6c60a0a604316efbced82cb8deafe17c1a084a17b226af9ce9c8e40"),
];

const P1: &[u8] = b"\x5eplait known answer";

fn p2() -> Vec<u8> {
    let mut p = vec![2u8];
    p.extend(0..40u8);
    p
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fixed_keys(cipher: &str, mac: Option<&str>) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let spec = cipher_spec(cipher).unwrap();
    let key = (0..spec.key_len).map(|i| i as u8).collect();
    let iv = (0..spec.iv_len).map(|i| (100 + i) as u8).collect();
    let mk = mac.map_or(vec![], |m| {
        (0..mac_spec(m).unwrap().key_len)
            .map(|i| (200 + i) as u8)
            .collect()
    });
    (key, iv, mk)
}

fn combos() -> Vec<(&'static str, Option<&'static str>)> {
    let mut out = vec![];
    for (c, spec) in CIPHERS {
        if spec.is_aead || *c == "none" {
            out.push((*c, None));
        } else {
            out.extend(MACS.iter().map(|(m, _)| (*c, Some(*m))));
        }
    }
    out.push(("none", Some("hmac-sha2-256-etm@openssh.com")));
    out.push(("none", Some("hmac-sha2-512")));
    out
}

fn pair(cipher: &str, mac: Option<&str>, max: usize) -> (PacketLayer, PacketLayer) {
    let (k, iv, mk) = fixed_keys(cipher, mac);
    let mut a = PacketLayer::new(max).unwrap();
    let mut b = PacketLayer::new(max).unwrap();
    a.set_encrypt(cipher, &k, &iv, mac, &mk).unwrap();
    b.set_decrypt(cipher, &k, &iv, mac, &mk).unwrap();
    (a, b)
}

fn drain(b: &mut PacketLayer) -> Result<Vec<Vec<u8>>, PacketError> {
    let mut out = vec![];
    while let Some(p) = b.next_payload()? {
        out.push(p.to_vec());
    }
    Ok(out)
}

#[test]
fn known_answers_both_ways() {
    assert_eq!(VECTORS.len(), combos().len());
    for (cipher, mac, v1, v2) in VECTORS {
        let (mut a, mut b) = pair(cipher, *mac, 262_144);
        a.seq_out = 3;
        b.seq_in = 3;
        let mut wire = vec![];
        a.encode_with(P1, &mut wire, |out, n| {
            out.extend(std::iter::repeat_n(0x5a, n))
        })
        .unwrap();
        assert_eq!(wire, unhex(v1), "{cipher} {mac:?} first packet");
        let mut second = vec![];
        a.encode_with(&p2(), &mut second, |out, n| {
            out.extend(std::iter::repeat_n(0x5a, n))
        })
        .unwrap();
        assert_eq!(second, unhex(v2), "{cipher} {mac:?} second packet");
        b.feed(&unhex(v1));
        b.feed(&unhex(v2));
        assert_eq!(
            drain(&mut b).unwrap(),
            vec![P1.to_vec(), p2()],
            "{cipher} {mac:?}"
        );
        assert_eq!(b.seq_in, 5);
    }
}

#[test]
fn round_trip_every_combination_any_chunking() {
    let payloads: Vec<Vec<u8>> = vec![
        vec![1],
        (0..=255u8).cycle().take(40_000).collect(),
        vec![94; 17],
        p2(),
    ];
    for (cipher, mac) in combos() {
        let (mut a, mut b) = pair(cipher, mac, 262_144);
        let mut wire = vec![];
        for p in &payloads {
            a.encode(p, &mut wire).unwrap();
        }
        assert_eq!(a.bytes_out, wire.len() as u64);
        for chunk in [1usize, 3, 16, 17, 4096, wire.len()] {
            let (mut a2, mut b2) = pair(cipher, mac, 262_144);
            let mut w2 = vec![];
            for p in &payloads {
                a2.encode(p, &mut w2).unwrap();
            }
            let mut got = vec![];
            for piece in w2.chunks(chunk) {
                b2.feed(piece);
                got.extend(drain(&mut b2).unwrap());
            }
            assert_eq!(got, payloads, "{cipher} {mac:?} chunk {chunk}");
            assert_eq!(b2.buffered(), 0);
        }
        b.feed(&wire);
        assert_eq!(drain(&mut b).unwrap(), payloads);
        assert_eq!(b.bytes_in, wire.len() as u64);
    }
}

#[test]
fn every_bit_flip_is_caught() {
    for (cipher, mac) in combos().into_iter().filter(|c| *c != ("none", None)) {
        let (mut a, _) = pair(cipher, mac, 4096);
        let mut packet = vec![];
        a.encode(b"\x5esome channel data here", &mut packet)
            .unwrap();
        for bit in 0..packet.len() * 8 {
            let (_, mut b) = pair(cipher, mac, 4096);
            let mut bad = packet.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            bad.extend(std::iter::repeat_n(0, 4096 + 128));
            b.feed(&bad);
            let err = drain(&mut b).unwrap_err();
            assert!(
                matches!(err, PacketError::Mac | PacketError::Protocol(_)),
                "{cipher} {mac:?} bit {bit}"
            );
            if bit / 8 >= 16 {
                assert_eq!(err, PacketError::Mac, "{cipher} {mac:?} bit {bit}");
            }
        }
    }
}

#[test]
fn sequence_numbers_wrap() {
    let (mut a, mut b) = pair("chacha20-poly1305@openssh.com", None, 262_144);
    a.seq_out = u32::MAX;
    b.seq_in = u32::MAX;
    let mut wire = vec![];
    for _ in 0..3 {
        a.encode(b"\x5ewrap", &mut wire).unwrap();
    }
    assert_eq!(a.seq_out, 2);
    b.feed(&wire);
    assert_eq!(drain(&mut b).unwrap().len(), 3);
    assert_eq!(b.seq_in, 2);
}

#[test]
fn newkeys_pauses() {
    let mut a = PacketLayer::new(262_144).unwrap();
    let mut b = PacketLayer::new(262_144).unwrap();
    let mut wire = vec![];
    a.encode(&[21], &mut wire).unwrap();
    let (k, iv, mk) = fixed_keys("aes128-ctr", Some("hmac-sha2-256"));
    a.set_encrypt("aes128-ctr", &k, &iv, Some("hmac-sha2-256"), &mk)
        .unwrap();
    a.encode(b"\x05after", &mut wire).unwrap();
    b.feed(&wire);
    assert_eq!(b.next_payload().unwrap(), Some(&[21u8][..]));
    assert!(b.paused());
    assert_eq!(b.next_payload().unwrap(), None);
    b.set_decrypt("aes128-ctr", &k, &iv, Some("hmac-sha2-256"), &mk)
        .unwrap();
    b.feed(&[]);
    assert_eq!(drain(&mut b).unwrap(), vec![b"\x05after".to_vec()]);
}

fn clear_packet(len: u32, padding: u8, body: usize) -> Vec<u8> {
    let mut p = len.to_be_bytes().to_vec();
    p.push(padding);
    p.extend(std::iter::repeat_n(0x41, body));
    p
}

#[test]
fn limits() {
    let cases = [
        clear_packet(262_145, 4, 3),
        clear_packet(u32::MAX, 4, 3),
        clear_packet(4, 4, 3),
        clear_packet(0, 4, 3),
        clear_packet(13, 4, 12),
        clear_packet(12, 3, 11),
        clear_packet(12, 11, 11),
        clear_packet(12, 255, 11),
    ];
    for case in cases {
        let mut b = PacketLayer::new(262_144).unwrap();
        b.feed(&case);
        assert!(
            matches!(drain(&mut b), Err(PacketError::Protocol(_))),
            "{case:?}"
        );
    }
    let mut b = PacketLayer::new(1004).unwrap();
    b.feed(&clear_packet(1004, 7, 1003));
    assert_eq!(drain(&mut b).unwrap()[0].len(), 1004 - 8);
    assert!(PacketLayer::new(15).is_err());
    assert!(PacketLayer::new(plait_ssh::MAX_PACKET_LENGTH_CAP + 1).is_err());
}

#[test]
fn compression_round_trip_and_bomb() {
    let (mut a, mut b) = pair("aes256-gcm@openssh.com", None, 262_144);
    a.set_compression(true, false);
    b.set_compression(false, true);
    let text: Vec<u8> = b"\x5elorem ipsum dolor sit amet "
        .iter()
        .copied()
        .cycle()
        .take(30_000)
        .collect();
    let mut sizes = vec![];
    for _ in 0..4 {
        let mut wire = vec![];
        a.encode(&text, &mut wire).unwrap();
        sizes.push(wire.len());
        b.feed(&wire);
        assert_eq!(drain(&mut b).unwrap(), vec![text.clone()]);
    }
    assert!(sizes[0] < 2000 && sizes[1] <= sizes[0]);

    let mut deflate = plait_ssh::Deflater::new();
    let mut bomb = vec![];
    deflate.compress(&vec![0u8; 20_000_000], &mut bomb);
    let mut c = PacketLayer::new(262_144).unwrap();
    let mut enc = PacketLayer::new(262_144).unwrap();
    c.set_compression(false, true);
    let mut wire = vec![];
    enc.encode(&bomb, &mut wire).unwrap();
    c.feed(&wire);
    assert!(matches!(drain(&mut c), Err(PacketError::Compression(_))));
}

#[test]
fn bad_keys() {
    let mut a = PacketLayer::new(262_144).unwrap();
    assert!(matches!(
        a.set_encrypt(
            "aes128-cbc",
            &[0; 16],
            &[0; 16],
            Some("hmac-sha2-256"),
            &[0; 32]
        ),
        Err(PacketError::Config(_))
    ));
    assert!(matches!(
        a.set_encrypt("aes128-ctr", &[0; 16], &[0; 16], None, &[]),
        Err(PacketError::Config(_))
    ));
    assert!(matches!(
        a.set_encrypt(
            "aes128-ctr",
            &[0; 16],
            &[0; 16],
            Some("hmac-sha1"),
            &[0; 20]
        ),
        Err(PacketError::Config(_))
    ));
    assert!(matches!(
        a.set_encrypt("chacha20-poly1305@openssh.com", &[0; 32], &[], None, &[]),
        Err(PacketError::Config(_))
    ));
}

#[test]
fn channel_data_runs_are_framed_per_chunk() {
    for (cipher, mac) in combos() {
        let (mut a, mut b) = pair(cipher, mac, 262_144);
        let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut wire = vec![];
        a.encode_channel_data(9, None, &data, 32768, &mut wire)
            .unwrap();
        a.encode_channel_data(9, Some(1), &data[..10], 4, &mut wire)
            .unwrap();
        assert!(a.encode_channel_data(9, None, &data, 0, &mut wire).is_err());
        assert!(a.encode_channel_data(9, None, &[], 10, &mut wire).is_err());
        b.feed(&wire);
        let got = drain(&mut b).unwrap();
        let mut expected = vec![];
        for piece in data.chunks(32768) {
            let mut m = vec![94, 0, 0, 0, 9];
            m.extend_from_slice(&(piece.len() as u32).to_be_bytes());
            m.extend_from_slice(piece);
            expected.push(m);
        }
        for piece in data[..10].chunks(4) {
            let mut m = vec![95, 0, 0, 0, 9, 0, 0, 0, 1];
            m.extend_from_slice(&(piece.len() as u32).to_be_bytes());
            m.extend_from_slice(piece);
            expected.push(m);
        }
        assert_eq!(got, expected, "{cipher} {mac:?}");
        assert_eq!(a.seq_out, 6);
    }
}
