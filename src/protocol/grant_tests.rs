use super::*;
use crate::protocol::object::{next_alarm, step};

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn grant(challenge: Option<&str>) -> Option<Grant> {
    Some(Grant {
        client_id: "c1".into(),
        sub: "u1".into(),
        scopes: vec!["openid".into()],
        claims: Map::new(),
        auth_time: 90,
        amr: vec!["swk".into(), "user".into()],
        acr: Some("phr".into()),
        idp: Some("github".into()),
        nonce: None,
        sid: None,
        resources: vec!["urn:a".into(), "urn:b".into()],
        created_at: 100,
        code: Some(CodeBinding {
            hash: "code-hash".into(),
            redirect_uri: "https://rp/cb".into(),
            code_challenge: challenge.map(str::to_string),
            expires_at: 160,
            used: false,
        }),
        refresh: None,
        tokens_valid_until: 0,
        revoked: false,
    })
}

fn redemption() -> CodeRedemption {
    CodeRedemption {
        code_hash: "code-hash".into(),
        pending: None,
        client_id: "c1".into(),
        redirect_uri: Some("https://rp/cb".into()),
        code_verifier: Some(VERIFIER.into()),
        resources: Vec::new(),
        refresh_hash: Some("rt1".into()),
        refresh_needs_offline_access: false,
        refresh_ttl: 1000,
        refresh_idle_ttl: 300,
        access_token_exp: 3700,
    }
}

fn rotation(presented: &str, new: &str) -> GrantOp {
    GrantOp::RotateRefresh(RefreshRotation {
        requested_scopes: None,
        resources: Vec::new(),
        presented_hash: presented.into(),
        new_hash: new.into(),
        client_id: "c1".into(),
        idle_ttl: 300,
        access_token_exp: 4000,
    })
}

fn refusal(reply: GrantReply) -> Refusal {
    match reply {
        GrantReply::Refused { refusal } => refusal,
        GrantReply::Ok { .. } => panic!("expected a refusal"),
    }
}

fn redeemed() -> Option<Grant> {
    let mut slot = grant(Some(CHALLENGE));
    assert!(matches!(
        apply(&mut slot, GrantOp::RedeemCode(redemption()), 110),
        GrantReply::Ok { .. }
    ));
    slot
}

#[test]
fn code_redeems_once_and_starts_the_refresh_chain() {
    let slot = redeemed();
    let g = slot.as_ref().unwrap();
    assert!(g.code.as_ref().unwrap().used);
    assert_eq!(g.refresh.as_ref().unwrap().current_hash, "rt1");
    assert_eq!(g.refresh.as_ref().unwrap().expires_at, 1110);
    assert_eq!(g.tokens_valid_until, 3700);
}

#[test]
fn offline_access_policy_decides_the_refresh_chain() {
    let mut r = redemption();
    r.refresh_needs_offline_access = true;
    let mut slot = grant(Some(CHALLENGE));
    apply(&mut slot, GrantOp::RedeemCode(r.clone()), 110);
    assert!(slot.unwrap().refresh.is_none(), "no offline_access granted");
    let mut slot = grant(Some(CHALLENGE));
    slot.as_mut().unwrap().scopes.push("offline_access".into());
    apply(&mut slot, GrantOp::RedeemCode(r), 110);
    assert!(slot.unwrap().refresh.is_some());
}

#[test]
fn replayed_code_revokes_the_grant() {
    let mut slot = redeemed();
    assert_eq!(
        refusal(apply(&mut slot, GrantOp::RedeemCode(redemption()), 111)),
        Refusal::Replayed
    );
    assert!(slot.as_ref().unwrap().revoked);
    assert_eq!(refusal(apply(&mut slot, GrantOp::Get, 112)), Refusal::Revoked);
    assert_eq!(refusal(apply(&mut slot, rotation("rt1", "rt2"), 112)), Refusal::Revoked);
}

#[test]
fn failed_checks_do_not_consume_the_code() {
    type Tweak = fn(&mut CodeRedemption);
    let cases: [(Tweak, Refusal); 5] = [
        (|r| r.client_id = "other".into(), Refusal::WrongClient),
        (
            |r| r.redirect_uri = Some("https://rp/other".into()),
            Refusal::WrongRedirectUri,
        ),
        (|r| r.redirect_uri = None, Refusal::WrongRedirectUri),
        (|r| r.code_verifier = Some("x".repeat(43)), Refusal::PkceFailed),
        (|r| r.code_verifier = None, Refusal::PkceFailed),
    ];
    for (tweak, expected) in cases {
        let mut slot = grant(Some(CHALLENGE));
        let mut r = redemption();
        tweak(&mut r);
        assert_eq!(refusal(apply(&mut slot, GrantOp::RedeemCode(r), 110)), expected);
        assert!(
            !slot.as_ref().unwrap().code.as_ref().unwrap().used,
            "{expected:?} consumed the code"
        );
        assert!(matches!(
            apply(&mut slot, GrantOp::RedeemCode(redemption()), 110),
            GrantReply::Ok { .. }
        ));
    }
}

#[test]
fn verifier_without_challenge_is_a_downgrade() {
    let mut slot = grant(None);
    assert_eq!(
        refusal(apply(&mut slot, GrantOp::RedeemCode(redemption()), 110)),
        Refusal::PkceFailed
    );
    let mut r = redemption();
    r.code_verifier = None;
    assert!(matches!(
        apply(&mut slot, GrantOp::RedeemCode(r), 110),
        GrantReply::Ok { .. }
    ));
}

#[test]
fn expired_and_unknown_codes() {
    let mut slot = grant(Some(CHALLENGE));
    assert_eq!(
        refusal(apply(&mut slot, GrantOp::RedeemCode(redemption()), 160)),
        Refusal::Expired
    );
    let mut r = redemption();
    r.code_hash = "other".into();
    assert_eq!(
        refusal(apply(&mut slot, GrantOp::RedeemCode(r), 110)),
        Refusal::Mismatch
    );
    assert_eq!(refusal(apply(&mut None, GrantOp::Get, 110)), Refusal::NotFound);
}

#[test]
fn refresh_rotates_and_reuse_revokes() {
    let mut slot = redeemed();
    assert!(matches!(
        apply(&mut slot, rotation("rt1", "rt2"), 200),
        GrantReply::Ok { .. }
    ));
    assert!(matches!(
        apply(&mut slot, rotation("rt2", "rt3"), 300),
        GrantReply::Ok { .. }
    ));
    assert_eq!(slot.as_ref().unwrap().tokens_valid_until, 4000);
    assert_eq!(
        refusal(apply(&mut slot, rotation("rt1", "rt9"), 310)),
        Refusal::Replayed
    );
    assert!(slot.as_ref().unwrap().revoked);
    assert_eq!(refusal(apply(&mut slot, rotation("rt3", "rt4"), 311)), Refusal::Revoked);
}

#[test]
fn refresh_is_bound_to_client_and_lifetimes() {
    let mut slot = redeemed();
    let mut wrong = rotation("rt1", "rt2");
    if let GrantOp::RotateRefresh(r) = &mut wrong {
        r.client_id = "c2".into();
    }
    assert_eq!(refusal(apply(&mut slot, wrong, 200)), Refusal::WrongClient);
    assert_eq!(
        refusal(apply(&mut slot, rotation("nope", "rt2"), 200)),
        Refusal::Mismatch
    );
    // Idle: last use at 110, idle TTL 300.
    assert_eq!(refusal(apply(&mut slot, rotation("rt1", "rt2"), 410)), Refusal::Expired);
    // Absolute: chain ends at 1110 even when used often.
    let mut slot = redeemed();
    for (i, t) in (300..1100).step_by(250).enumerate() {
        let op = rotation(&format!("rt{}", i + 1), &format!("rt{}", i + 2));
        assert!(
            matches!(apply(&mut slot, op, t), GrantReply::Ok { .. }),
            "rotation at {t}"
        );
    }
    assert_eq!(
        refusal(apply(&mut slot, rotation("rt5", "rt6"), 1110)),
        Refusal::Expired
    );
}

#[test]
fn remembered_refresh_tokens_are_bounded() {
    let mut slot = redeemed();
    for i in 1..100 {
        let op = rotation(&format!("rt{i}"), &format!("rt{}", i + 1));
        assert!(matches!(apply(&mut slot, op, 110 + i), GrantReply::Ok { .. }));
    }
    assert_eq!(
        slot.as_ref().unwrap().refresh.as_ref().unwrap().previous_hashes.len(),
        REMEMBERED_REFRESH_TOKENS
    );
    // Too old to be remembered: refused, but the grant survives.
    assert_eq!(refusal(apply(&mut slot, rotation("rt1", "x"), 300)), Refusal::Mismatch);
    assert!(!slot.as_ref().unwrap().revoked);
}

#[test]
fn a_reply_leaves_out_the_superseded_hashes_the_object_keeps() {
    let mut slot = redeemed();
    for i in 1..4 {
        let GrantReply::Ok { grant } = apply(&mut slot, rotation(&format!("rt{i}"), &format!("rt{}", i + 1)), 110 + i)
        else {
            panic!("rotation {i} refused");
        };
        let answered = grant.refresh.as_ref().unwrap();
        assert_eq!(
            (answered.current_hash.as_str(), answered.previous_hashes.len()),
            (format!("rt{}", i + 1).as_str(), 0)
        );
        let kept = slot.as_ref().unwrap().refresh.as_ref().unwrap();
        assert_eq!(
            kept.previous_hashes.len(),
            i as usize,
            "the object still remembers them"
        );
        let mut without = slot.clone().unwrap();
        without.refresh.as_mut().unwrap().previous_hashes.clear();
        assert_eq!(*grant, without, "and nothing else is left out");
    }
    // The replay of one it left out is still recognised.
    assert_eq!(refusal(apply(&mut slot, rotation("rt2", "x"), 200)), Refusal::Replayed);
}

#[test]
fn ends_when_everything_in_it_has_expired() {
    assert_eq!(grant(None).unwrap().ends_at(), 160);
    let g = redeemed().unwrap();
    assert_eq!(g.ends_at(), 3700);
    let mut slot = redeemed();
    apply(&mut slot, GrantOp::Revoke, 120);
    assert_eq!(slot.unwrap().ends_at(), 0);
    let mut slot = redeemed();
    assert_eq!(refusal(apply(&mut slot, GrantOp::Get, 3700)), Refusal::Expired);
}

#[test]
fn an_idle_refresh_chain_ends_before_its_absolute_end() {
    // Access tokens shorter than the chain, so the chain decides the end.
    let short = |exp| CodeRedemption {
        access_token_exp: exp,
        ..redemption()
    };
    let mut slot = grant(Some(CHALLENGE));
    apply(&mut slot, GrantOp::RedeemCode(short(200)), 110);
    assert_eq!(slot.as_ref().unwrap().ends_at(), 410); // idle: 110 + 300
                                                       // Each use moves the idle end on (rotation's access token: 4000)...
    apply(&mut slot, rotation("rt1", "rt2"), 400);
    assert_eq!(slot.as_ref().unwrap().ends_at(), 4000);
    let refresh = slot.as_ref().unwrap().refresh.as_ref().unwrap();
    assert_eq!(refresh.ends_at(), 700);
    // ...but never past the absolute end (110 + 1000).
    let late = RefreshState {
        last_used_at: 1000,
        ..refresh.clone()
    };
    assert_eq!(late.ends_at(), 1110);
    // A grant stored before the idle lifetime was kept ends at the absolute end.
    let unknown = RefreshState { idle_ttl: 0, ..late };
    assert_eq!(unknown.ends_at(), 1110);
}

#[test]
fn refresh_may_narrow_but_not_widen_scope() {
    let mut slot = redeemed();
    let with_scope = |scopes: &[&str], presented: &str, new: &str| match rotation(presented, new) {
        GrantOp::RotateRefresh(mut r) => {
            r.requested_scopes = Some(scopes.iter().map(|s| s.to_string()).collect());
            GrantOp::RotateRefresh(r)
        }
        _ => unreachable!(),
    };
    assert_eq!(
        refusal(apply(&mut slot, with_scope(&["openid", "email"], "rt1", "rt2"), 200)),
        Refusal::ScopeExceeded
    );
    assert_eq!(
        slot.as_ref().unwrap().refresh.as_ref().unwrap().current_hash,
        "rt1",
        "a refused refresh does not rotate"
    );
    assert!(matches!(
        apply(&mut slot, with_scope(&["openid"], "rt1", "rt2"), 200),
        GrantReply::Ok { .. }
    ));
    assert_eq!(
        Refusal::ScopeExceeded.error().code,
        crate::protocol::ErrorCode::InvalidScope
    );
}

fn resources(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_code_is_redeemed_for_some_of_its_resources_never_another() {
    let mut slot = grant(Some(CHALLENGE));
    let asking = |list: &[&str]| {
        GrantOp::RedeemCode(CodeRedemption {
            resources: resources(list),
            ..redemption()
        })
    };
    assert_eq!(
        refusal(apply(&mut slot, asking(&["urn:a", "urn:c"]), 110)),
        Refusal::ResourceExceeded
    );
    assert!(!slot.as_ref().unwrap().code.as_ref().unwrap().used, "not consumed");
    assert!(matches!(
        apply(&mut slot, asking(&["urn:b"]), 111),
        GrantReply::Ok { .. }
    ));
    assert_eq!(
        Refusal::ResourceExceeded.error().code,
        crate::protocol::ErrorCode::InvalidTarget
    );
    // A grant authorized for no resource gives a token for none.
    let mut none = grant(Some(CHALLENGE));
    none.as_mut().unwrap().resources.clear();
    assert_eq!(
        refusal(apply(&mut none, asking(&["urn:a"]), 110)),
        Refusal::ResourceExceeded
    );
}

#[test]
fn a_refresh_asks_for_the_same_resources_or_fewer() {
    let mut slot = redeemed();
    let asking = |list: &[&str], presented: &str, new: &str| match rotation(presented, new) {
        GrantOp::RotateRefresh(r) => GrantOp::RotateRefresh(RefreshRotation {
            resources: resources(list),
            ..r
        }),
        _ => unreachable!(),
    };
    assert_eq!(
        refusal(apply(&mut slot, asking(&["urn:c"], "rt1", "rt2"), 200)),
        Refusal::ResourceExceeded
    );
    assert_eq!(slot.as_ref().unwrap().refresh.as_ref().unwrap().current_hash, "rt1");
    assert!(matches!(
        apply(&mut slot, asking(&["urn:a"], "rt1", "rt2"), 200),
        GrantReply::Ok { .. }
    ));
    // Narrowing one token narrows nothing else: the next may ask for both.
    assert!(matches!(
        apply(&mut slot, asking(&["urn:a", "urn:b"], "rt2", "rt3"), 201),
        GrantReply::Ok { .. }
    ));
}

#[test]
fn grants_stored_without_resources_still_read() {
    let mut stored = serde_json::to_value(grant(None).unwrap()).unwrap();
    stored.as_object_mut().unwrap().remove("resources");
    let read: Grant = serde_json::from_value(stored).unwrap();
    assert!(read.resources.is_empty());
    let op: GrantOp = serde_json::from_value(serde_json::json!({
        "op": "rotate_refresh", "requested_scopes": null, "presented_hash": "h", "new_hash": "n",
        "client_id": "c1", "idle_ttl": 1, "access_token_exp": 2
    }))
    .unwrap();
    assert!(matches!(op, GrantOp::RotateRefresh(r) if r.resources.is_empty()));
}

#[test]
fn grants_stored_before_amr_and_acr_were_kept_are_password_sign_ins_without_acr() {
    let mut stored = serde_json::to_value(grant(None).unwrap()).unwrap();
    assert_eq!(
        (&stored["amr"], &stored["acr"]),
        (&serde_json::json!(["swk", "user"]), &serde_json::json!("phr"))
    );
    let fields = stored.as_object_mut().unwrap();
    fields.remove("amr");
    fields.remove("acr");
    let read: Grant = serde_json::from_value(stored).unwrap();
    assert_eq!((read.amr, read.acr), (vec!["pwd".to_string()], None));
}

#[test]
fn the_sign_in_survives_redemption_and_rotation() {
    let mut slot = redeemed();
    apply(&mut slot, rotation("rt1", "rt2"), 200);
    let GrantReply::Ok { grant } = apply(&mut slot, GrantOp::Get, 201) else {
        panic!("a live grant")
    };
    assert_eq!(
        (grant.amr.as_slice(), grant.acr.as_deref()),
        (&["swk".to_string(), "user".to_string()][..], Some("phr"))
    );
}

#[test]
fn refresh_tokens_can_be_inspected_and_revoked_by_their_client() {
    let inspect = |h: &str| GrantOp::InspectRefresh {
        presented_hash: h.into(),
        idle_ttl: 300,
    };
    let revoke = |h: &str, c: &str| GrantOp::RevokeRefresh {
        presented_hash: h.into(),
        client_id: c.into(),
    };
    let mut slot = redeemed();
    assert!(matches!(apply(&mut slot, inspect("rt1"), 200), GrantReply::Ok { .. }));
    assert_eq!(refusal(apply(&mut slot, inspect("rt1"), 410)), Refusal::Expired);
    assert_eq!(refusal(apply(&mut slot, inspect("zz"), 200)), Refusal::Mismatch);
    apply(&mut slot, rotation("rt1", "rt2"), 200);
    assert_eq!(
        refusal(apply(&mut slot, inspect("rt1"), 201)),
        Refusal::Mismatch,
        "superseded"
    );
    assert_eq!(
        refusal(apply(&mut slot, revoke("rt2", "c2"), 201)),
        Refusal::WrongClient
    );
    assert_eq!(refusal(apply(&mut slot, revoke("zz", "c1"), 201)), Refusal::Mismatch);
    assert!(!slot.as_ref().unwrap().revoked);
    assert!(matches!(
        apply(&mut slot, revoke("rt1", "c1"), 201),
        GrantReply::Ok { .. }
    ));
    assert!(slot.as_ref().unwrap().revoked);
    assert_eq!(refusal(apply(&mut slot, inspect("rt2"), 202)), Refusal::Revoked);
}

#[test]
fn the_holder_stores_changes_and_moves_the_alarm_only_earlier() {
    // Made: stored, with the alarm a second past the code's end.
    let mut slot = None;
    let made = step::<GrantMachine>(
        &mut slot,
        GrantOp::Create {
            grant: Box::new(grant(None).unwrap()),
        },
        100,
    );
    assert!(made.changed);
    assert_eq!(made.alarm_at, Some(161));
    // Redeemed into a refresh chain: the end moves later (3700). Stored; the
    // alarm is left to move itself when it fires.
    let mut slot = grant(Some(CHALLENGE));
    let redeemed = step::<GrantMachine>(&mut slot, GrantOp::RedeemCode(redemption()), 110);
    assert!(redeemed.changed);
    assert_eq!(redeemed.alarm_at, None);
    // A read changes nothing.
    let read = step::<GrantMachine>(&mut slot, GrantOp::Get, 120);
    assert!(!read.changed && read.alarm_at.is_none());
    // Revoked: it ends at once, so the alarm comes forward to a second from now.
    let revoked = step::<GrantMachine>(&mut slot, GrantOp::Revoke, 130);
    assert!(revoked.changed);
    assert_eq!(revoked.alarm_at, Some(131));
    // Revoked again, or an unknown grant: nothing to store.
    assert!(!step::<GrantMachine>(&mut slot, GrantOp::Revoke, 140).changed);
    let mut none = None;
    let unknown = step::<GrantMachine>(&mut none, GrantOp::Get, 140);
    assert_eq!(refusal(unknown.reply), Refusal::NotFound);
    assert!(!unknown.changed && unknown.alarm_at.is_none());
}

#[test]
fn a_fired_alarm_moves_on_while_the_grant_has_a_use() {
    let g = redeemed().unwrap();
    assert_eq!(next_alarm::<GrantMachine>(Some(&g), 200), Some(3701));
    assert_eq!(next_alarm::<GrantMachine>(Some(&g), 3700), None);
    assert_eq!(next_alarm::<GrantMachine>(None, 200), None);
}

#[test]
fn a_create_call_reads_its_grant_whole() {
    // The grant is read through its JSON text (`object::Tagged`).
    let mut made = grant(Some(CHALLENGE)).unwrap();
    made.claims = serde_json::json!({"name": "Zoë", "n": 12345678901234567u64, "x": -1.5, "a": [{"b": null}]})
        .as_object()
        .unwrap()
        .clone();
    let op = GrantOp::Create { grant: Box::new(made) };
    let text = serde_json::to_string(&op).unwrap();
    assert!(text.starts_with(r#"{"op":"create","grant":{"#), "{text}");
    assert_eq!(serde_json::from_str::<GrantOp>(&text).unwrap(), op);
    let wrong = r#"{"op":"create","grant":{"client_id":1}}"#;
    assert!(serde_json::from_str::<GrantOp>(wrong).is_err());
}

#[test]
fn every_operation_reads_back_from_its_wire_form() {
    let ops = [
        GrantOp::Create {
            grant: Box::new(grant(None).unwrap()),
        },
        GrantOp::RedeemCode(redemption()),
        rotation("old", "new"),
        GrantOp::InspectRefresh {
            presented_hash: "h".into(),
            idle_ttl: 60,
        },
        GrantOp::RevokeRefresh {
            presented_hash: "h".into(),
            client_id: "c".into(),
        },
        GrantOp::Get,
        GrantOp::Revoke,
        GrantOp::UndoRedemption {
            code_hash: "c".into(),
            refresh_hash: Some("r".into()),
        },
        GrantOp::UndoRedemption {
            code_hash: "c".into(),
            refresh_hash: None,
        },
        GrantOp::UndoRotation {
            presented_hash: "p".into(),
            new_hash: "n".into(),
        },
    ];
    for op in ops {
        let text = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<GrantOp>(&text).unwrap(), op, "{text}");
    }
    // As objects and workers of earlier releases write them.
    let inspect = r#"{"op":"inspect_refresh","presented_hash":"h","idle_ttl":60}"#;
    assert_eq!(
        serde_json::from_str::<GrantOp>(inspect).unwrap(),
        GrantOp::InspectRefresh {
            presented_hash: "h".into(),
            idle_ttl: 60
        }
    );
    let rotate = r#"{"op":"rotate_refresh","requested_scopes":null,"presented_hash":"p","new_hash":"n",
        "client_id":"c","idle_ttl":1,"access_token_exp":2}"#;
    let GrantOp::RotateRefresh(r) = serde_json::from_str::<GrantOp>(rotate).unwrap() else {
        panic!("not a rotation");
    };
    assert_eq!(
        (r.presented_hash.as_str(), r.resources.len(), r.access_token_exp),
        ("p", 0, 2)
    );
    for reply in [
        GrantReply::Ok {
            grant: Box::new(grant(None).unwrap()),
        },
        GrantReply::Refused {
            refusal: Refusal::Replayed,
        },
    ] {
        let text = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<GrantReply>(&text).unwrap(), reply, "{text}");
    }
    assert_eq!(
        serde_json::from_str::<GrantReply>(r#"{"refused":{"refusal":"not_found"}}"#).unwrap(),
        GrantReply::Refused {
            refusal: Refusal::NotFound
        }
    );
    assert!(serde_json::from_str::<GrantReply>(r#"{"refused":{"refusal":"bored"}}"#).is_err());
    for wrong in [
        r#"{"op":"revoke_everything"}"#,
        r#"{"idle_ttl":60}"#,
        r#"{"op":"inspect_refresh","presented_hash":"h"}"#,
        r#"{"op":"redeem_code","code_hash":"h"}"#,
        r#"["get"]"#,
    ] {
        assert!(serde_json::from_str::<GrantOp>(wrong).is_err(), "{wrong}");
    }
}

/// A sealed code's redemption: the grant travels with it.
fn first_redemption() -> GrantOp {
    GrantOp::RedeemCode(CodeRedemption {
        pending: grant(Some(CHALLENGE)).map(Box::new),
        ..redemption()
    })
}

#[test]
fn a_sealed_codes_first_redemption_makes_the_grant_and_the_next_is_a_replay() {
    let mut slot = None;
    let made = step::<GrantMachine>(&mut slot, first_redemption(), 110);
    assert!(made.changed, "the grant is stored");
    assert!(made.alarm_at.is_some(), "with its clean-up alarm");
    let grant = slot.clone().unwrap();
    assert!(grant.code.as_ref().unwrap().used);
    assert!(grant.refresh.is_some());
    // Concurrent or later, the same code meets the stored grant.
    assert_eq!(refusal(apply(&mut slot, first_redemption(), 111)), Refusal::Replayed);
    assert!(slot.unwrap().revoked, "the replay revokes all the grant issued");
}

#[test]
fn a_sealed_code_refused_before_it_is_consumed_leaves_no_grant() {
    let refused = [
        (
            CodeRedemption {
                code_verifier: Some("wrong".repeat(9)),
                ..redemption()
            },
            Refusal::PkceFailed,
        ),
        (
            CodeRedemption {
                client_id: "c2".into(),
                ..redemption()
            },
            Refusal::WrongClient,
        ),
        (
            CodeRedemption {
                redirect_uri: None,
                ..redemption()
            },
            Refusal::WrongRedirectUri,
        ),
        (
            CodeRedemption {
                resources: vec!["urn:c".into()],
                ..redemption()
            },
            Refusal::ResourceExceeded,
        ),
    ];
    for (r, why) in refused {
        let mut slot = None;
        let op = GrantOp::RedeemCode(CodeRedemption {
            pending: grant(Some(CHALLENGE)).map(Box::new),
            ..r
        });
        let s = step::<GrantMachine>(&mut slot, op, 110);
        assert_eq!(refusal(s.reply), why);
        assert!(!s.changed && slot.is_none(), "{why:?} stores nothing");
    }
    let mut slot = None;
    assert_eq!(refusal(apply(&mut slot, first_redemption(), 160)), Refusal::Expired);
    assert!(slot.is_none(), "an expired code stores nothing");
    // The rightful client still redeems it.
    assert!(matches!(
        apply(&mut slot, first_redemption(), 111),
        GrantReply::Ok { .. }
    ));
}

#[test]
fn a_redemption_without_its_grant_finds_none() {
    let mut slot = None;
    assert_eq!(
        refusal(apply(&mut slot, GrantOp::RedeemCode(redemption()), 110)),
        Refusal::NotFound
    );
    assert!(slot.is_none());
}

/// What the token endpoint sends when a step after `op` failed.
fn undo_of(op: &GrantOp) -> GrantOp {
    op.undo().expect("an operation that hands out tokens")
}

fn ok(reply: GrantReply) -> Box<Grant> {
    match reply {
        GrantReply::Ok { grant } => grant,
        GrantReply::Refused { refusal } => panic!("refused: {refusal:?}"),
    }
}

#[test]
fn only_operations_that_hand_out_tokens_have_an_undo() {
    assert!(GrantOp::RedeemCode(redemption()).undo().is_some());
    assert!(rotation("a", "b").undo().is_some());
    for op in [GrantOp::Get, GrantOp::Revoke, undo_of(&rotation("a", "b"))] {
        assert_eq!(op.undo(), None, "{op:?}");
    }
}

#[test]
fn an_undone_first_redemption_lets_the_retry_redeem_once_and_a_replay_still_revokes() {
    let mut slot = None;
    let first = first_redemption();
    ok(apply(&mut slot, first.clone(), 110));
    let undone = step::<GrantMachine>(&mut slot, undo_of(&first), 111);
    let g = ok(undone.reply);
    assert!(
        !g.code.as_ref().unwrap().used && g.refresh.is_none(),
        "as before the redemption"
    );
    assert!(undone.changed, "stored; the alarm set at the redemption still ends it");
    // The client's retry (with a refresh token of its own) redeems it ...
    let retry = GrantOp::RedeemCode(CodeRedemption {
        refresh_hash: Some("rt-retry".into()),
        pending: grant(Some(CHALLENGE)).map(Box::new),
        ..redemption()
    });
    assert_eq!(
        ok(apply(&mut slot, retry.clone(), 112)).refresh.unwrap().current_hash,
        "rt-retry"
    );
    // ... once: the next is a replay, as ever.
    assert_eq!(refusal(apply(&mut slot, retry, 113)), Refusal::Replayed);
    assert!(slot.unwrap().revoked);
}

#[test]
fn an_undone_redemption_without_a_refresh_chain_redeems_again_once() {
    let mut slot = grant(Some(CHALLENGE));
    let op = GrantOp::RedeemCode(CodeRedemption {
        refresh_needs_offline_access: true,
        ..redemption()
    });
    assert!(
        ok(apply(&mut slot, op.clone(), 110)).refresh.is_none(),
        "no offline_access: no chain"
    );
    ok(apply(&mut slot, undo_of(&op), 111));
    ok(apply(&mut slot, op.clone(), 112));
    assert_eq!(refusal(apply(&mut slot, op, 113)), Refusal::Replayed);
}

#[test]
fn a_redemption_is_undone_only_from_the_state_it_left() {
    let op = GrantOp::RedeemCode(redemption());
    let undo = undo_of(&op);
    // The code was never redeemed, or the undo came twice.
    let mut unused = grant(Some(CHALLENGE));
    assert_eq!(refusal(apply(&mut unused, undo.clone(), 110)), Refusal::Mismatch);
    // Another request's undo: not its refresh token, not its code.
    let mut slot = redeemed();
    let foreign = [
        GrantOp::UndoRedemption {
            code_hash: "code-hash".into(),
            refresh_hash: Some("rt-other".into()),
        },
        GrantOp::UndoRedemption {
            code_hash: "code-hash".into(),
            refresh_hash: None,
        },
        GrantOp::UndoRedemption {
            code_hash: "other".into(),
            refresh_hash: Some("rt1".into()),
        },
    ];
    for wrong in foreign {
        assert_eq!(refusal(apply(&mut slot, wrong, 111)), Refusal::Mismatch);
    }
    // The chain moved on: its first token did reach the client.
    ok(apply(&mut slot, rotation("rt1", "rt2"), 120));
    assert_eq!(refusal(apply(&mut slot, undo.clone(), 121)), Refusal::Mismatch);
    assert!(slot.as_ref().unwrap().code.as_ref().unwrap().used);
    // A replay came first: the grant stays revoked.
    let mut slot = redeemed();
    assert_eq!(refusal(apply(&mut slot, op, 111)), Refusal::Replayed);
    assert_eq!(refusal(apply(&mut slot, undo, 112)), Refusal::Revoked);
    assert!(slot.unwrap().revoked);
}

#[test]
fn an_undone_rotation_lets_the_retry_rotate_once_and_reuse_still_revokes() {
    let mut slot = redeemed();
    let op = rotation("rt1", "rt2");
    ok(apply(&mut slot, op.clone(), 200));
    let r = ok(apply(&mut slot, undo_of(&op), 201)).refresh.unwrap();
    assert_eq!((r.current_hash.as_str(), r.previous_hashes.len()), ("rt1", 0));
    ok(apply(&mut slot, rotation("rt1", "rt3"), 202));
    assert_eq!(
        refusal(apply(&mut slot, rotation("rt1", "rt4"), 203)),
        Refusal::Replayed
    );
    assert!(slot.unwrap().revoked);
}

#[test]
fn a_rotation_is_undone_only_from_the_state_it_left() {
    let mut slot = redeemed();
    let first = rotation("rt1", "rt2");
    ok(apply(&mut slot, first.clone(), 200));
    for wrong in [undo_of(&rotation("rt1", "rt9")), undo_of(&rotation("rt0", "rt2"))] {
        assert_eq!(refusal(apply(&mut slot, wrong, 201)), Refusal::Mismatch);
    }
    // rt2 reached the client and was rotated in turn: the first rotation stands.
    ok(apply(&mut slot, rotation("rt2", "rt3"), 210));
    assert_eq!(refusal(apply(&mut slot, undo_of(&first), 211)), Refusal::Mismatch);
    assert_eq!(slot.as_ref().unwrap().refresh.as_ref().unwrap().current_hash, "rt3");
    // Revoked meanwhile: nothing comes back.
    let second = rotation("rt3", "rt4");
    ok(apply(&mut slot, second.clone(), 220));
    ok(apply(&mut slot, GrantOp::Revoke, 221));
    assert_eq!(refusal(apply(&mut slot, undo_of(&second), 222)), Refusal::Revoked);
}
