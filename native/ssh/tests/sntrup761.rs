//! sntrup761: published decapsulation vectors, round trips, implicit rejection, lengths.

use plait_ssh::{
    sntrup761_encapsulate, sntrup761_encapsulate_seeded, Sntrup761KeyPair,
    SNTRUP761_CIPHERTEXT_SIZE, SNTRUP761_PUBLIC_KEY_SIZE,
};

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The NTRU Prime submission's KAT vectors 0 and 1 (also in
/// draft-josefsson-ntruprime-streamlined): secret key, ciphertext, shared secret.
#[test]
fn known_answer_decapsulation() {
    let vectors = [
        (
            include_str!("data/kat0_sk.hex"),
            include_str!("data/kat0_ct.hex"),
            include_str!("data/kat0_ss.hex"),
        ),
        (
            include_str!("data/kat1_sk.hex"),
            include_str!("data/kat1_ct.hex"),
            include_str!("data/kat1_ss.hex"),
        ),
    ];
    for (sk, ct, ss) in vectors {
        let pair = Sntrup761KeyPair::from_secret_bytes(&unhex(sk)).expect("secret key");
        assert_eq!(
            pair.decapsulate(&unhex(ct)).expect("ct").to_vec(),
            unhex(ss)
        );
        // The public key inside the secret key is the one encapsulation uses.
        assert_eq!(
            pair.public_bytes(),
            &unhex(sk)[382..382 + SNTRUP761_PUBLIC_KEY_SIZE]
        );
    }
}

#[test]
fn round_trips() {
    for _ in 0..4 {
        let pair = Sntrup761KeyPair::generate();
        assert_eq!(pair.public_bytes().len(), SNTRUP761_PUBLIC_KEY_SIZE);
        let (ct, ss) = sntrup761_encapsulate(pair.public_bytes()).expect("encapsulate");
        assert_eq!(ct.len(), SNTRUP761_CIPHERTEXT_SIZE);
        assert_eq!(pair.decapsulate(&ct).expect("decapsulate"), ss);
    }
}

#[test]
fn seeded_is_deterministic_and_fresh_pairs_differ() {
    let a = Sntrup761KeyPair::from_seed([7; 32]);
    let b = Sntrup761KeyPair::from_seed([7; 32]);
    assert_eq!(a.public_bytes(), b.public_bytes());
    assert_ne!(
        Sntrup761KeyPair::generate().public_bytes(),
        a.public_bytes()
    );
    let one = sntrup761_encapsulate_seeded(a.public_bytes(), [1; 32]).expect("enc");
    let two = sntrup761_encapsulate_seeded(a.public_bytes(), [1; 32]).expect("enc");
    assert_eq!(one, two);
}

#[test]
fn a_tampered_ciphertext_gives_another_secret() {
    let pair = Sntrup761KeyPair::generate();
    let (mut ct, ss) = sntrup761_encapsulate(pair.public_bytes()).expect("encapsulate");
    for i in [0, 500, SNTRUP761_CIPHERTEXT_SIZE - 1] {
        ct[i] ^= 1;
        let other = pair.decapsulate(&ct).expect("decapsulate");
        assert_ne!(other, ss);
        // implicit rejection is deterministic for the same input
        assert_eq!(pair.decapsulate(&ct).expect("decapsulate"), other);
        ct[i] ^= 1;
    }
}

#[test]
fn wrong_lengths_are_errors() {
    let pair = Sntrup761KeyPair::generate();
    let err = pair.decapsulate(&[0; 10]).expect_err("short ciphertext");
    assert_eq!(err.expected, SNTRUP761_CIPHERTEXT_SIZE);
    assert_eq!(err.got, 10);
    assert!(sntrup761_encapsulate(&[0; SNTRUP761_PUBLIC_KEY_SIZE + 1]).is_err());
    assert!(Sntrup761KeyPair::from_secret_bytes(&[0; 3]).is_err());
    assert!(err.to_string().contains("ciphertext"));
}

/// Any bytes of the right length are taken: public keys and ciphertexts from the network
/// never panic (Rq decoding reduces every value; decapsulation rejects implicitly).
#[test]
fn arbitrary_bytes_never_panic() {
    let pair = Sntrup761KeyPair::generate();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 24) as u8
    };
    for round in 0..64 {
        let fill = |n: usize, next: &mut dyn FnMut() -> u8| -> Vec<u8> {
            match round {
                0 => vec![0; n],
                1 => vec![0xff; n],
                _ => (0..n).map(|_| next()).collect(),
            }
        };
        let public = fill(SNTRUP761_PUBLIC_KEY_SIZE, &mut next);
        let (ct, _) = sntrup761_encapsulate(&public).expect("right length");
        assert_eq!(ct.len(), SNTRUP761_CIPHERTEXT_SIZE);
        let forged = fill(SNTRUP761_CIPHERTEXT_SIZE, &mut next);
        pair.decapsulate(&forged).expect("right length");
    }
}
