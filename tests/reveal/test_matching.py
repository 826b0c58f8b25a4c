"""Matching (counselor/reveal/matching.py): every combination of answers and roles.

The expected classes are written down here from the issue's words, independently of the
module: mutual (a shared role, both yes or want-to-try), complementary (a yes on a role and
the other's yes on its counterpart), discuss (any maybe or only-if-my-partner-wants), mismatch
(a yes against a no), neither (both no), unanswered (one left it open: never a no); a hard
limit overrides: limit_collision when the other said yes, limit otherwise.
"""

from __future__ import annotations

import itertools
from math import comb

import pytest

from counselor.questionnaires.engine import desire_value
from counselor.reveal import matching

ANSWERS = ("yes", "want_to_try", "if_partner", "maybe", "no", None)
POSITIVE = {"yes", "want_to_try"}

TOGETHER = {
    "link_id": "t",
    "type": "desire",
    "text": "Together",
    "roles": [{"key": "together", "label": "Together"}],
}
GIVE_RECEIVE = {
    "link_id": "g",
    "type": "desire",
    "text": "Give/receive",
    "roles": [
        {"key": "give", "label": "Giving", "counterpart": "receive"},
        {"key": "receive", "label": "Receiving", "counterpart": "give"},
    ],
}
LEAD_FOLLOW = {
    "link_id": "l",
    "type": "desire",
    "text": "Lead/follow",
    "roles": [
        {"key": "lead", "label": "Leading", "counterpart": "follow"},
        {"key": "follow", "label": "Following", "counterpart": "lead"},
    ],
}
COUNTERPART_ITEMS = [GIVE_RECEIVE, LEAD_FOLLOW]


def ans(roles: dict, *, limits=(), fantasy: bool = False, note: str = "") -> dict:
    return {
        "roles": {k: v for k, v in roles.items() if v is not None},
        "limits": sorted(limits),
        "fantasy": fantasy,
        "experience": "",
        "note": note,
    }


def expected_pairing(a, b, *, shared: bool) -> str:
    """The issue's rules for two answers on paired roles."""
    if a is None or b is None:
        return "unanswered"
    if a in POSITIVE and b in POSITIVE:
        return "mutual" if shared else "complementary"
    if a == b == "no":
        return "neither"
    if (a in POSITIVE and b == "no") or (b in POSITIVE and a == "no"):
        return "mismatch"
    return "discuss"


# ---- single pairings -------------------------------------------------------------------


@pytest.mark.parametrize("a,b", list(itertools.product(ANSWERS, ANSWERS)))
def test_every_pairing_of_two_answers(a, b):
    assert matching.classify_pairing(a, b, shared_role=True) == expected_pairing(a, b, shared=True)
    assert matching.classify_pairing(a, b, shared_role=False) == expected_pairing(
        a, b, shared=False
    )


def test_pairing_table_spot_checks():
    c = matching.classify_pairing
    assert c("yes", "yes", shared_role=True) == "mutual"
    assert c("want_to_try", "yes", shared_role=True) == "mutual"
    assert c("yes", "want_to_try", shared_role=False) == "complementary"
    assert c("yes", "maybe", shared_role=True) == "discuss"
    assert c("if_partner", "yes", shared_role=True) == "discuss"
    assert c("if_partner", "if_partner", shared_role=True) == "discuss"
    assert c("maybe", "no", shared_role=True) == "discuss"
    assert c("yes", "no", shared_role=True) == "mismatch"
    assert c("no", "want_to_try", shared_role=False) == "mismatch"
    assert c("no", "no", shared_role=True) == "neither"
    assert c("yes", None, shared_role=True) == "unanswered"
    assert c(None, "no", shared_role=True) == "unanswered"


@pytest.mark.parametrize("answer", ANSWERS)
def test_unanswered_is_never_a_no(answer):
    for shared in (True, False):
        assert matching.classify_pairing(answer, None, shared_role=shared) == "unanswered"
        assert matching.classify_pairing(None, answer, shared_role=shared) == "unanswered"
        assert matching.classify_pairing("", answer, shared_role=shared) == "unanswered"
    # and for a whole item: one partner who answered nothing is not a "no"
    r = matching.compare_pair(TOGETHER, "A", ans({"together": answer}), "B", None)
    assert r.cls == "unanswered" and r.matches == []
    r = matching.compare_pair(
        GIVE_RECEIVE, "A", ans({"give": answer, "receive": answer}), "B", ans({})
    )
    assert r.cls == "unanswered" and r.matches == []


# ---- a shared role (no counterpart) --------------------------------------------------------


@pytest.mark.parametrize("a,b", list(itertools.product(ANSWERS, ANSWERS)))
def test_shared_role_item(a, b):
    r = matching.compare_pair(TOGETHER, "A", ans({"together": a}), "B", ans({"together": b}))
    assert r.cls == expected_pairing(a, b, shared=True)
    assert [(p.role_a, p.role_b) for p in r.pairings] == [("together", "together")]
    assert (r.cls == "mutual") == (a in POSITIVE and b in POSITIVE)
    assert r.cls != "complementary"  # a shared role can only match mutually
    assert [p.cls for p in r.matches] == (["mutual"] if r.cls == "mutual" else [])


# ---- counterpart roles: give/receive and lead/follow ---------------------------------------


def _expected_item(item, a: dict, b: dict) -> tuple[str, list[tuple[str, str, str]]]:
    """(item class, [(role_a, role_b, pairing class)]) for a counterpart item without limits."""
    first, second = (r["key"] for r in item["roles"])
    pairings = [
        (first, second, expected_pairing(a.get(first), b.get(second), shared=False)),
        (second, first, expected_pairing(a.get(second), b.get(first), shared=False)),
    ]
    ra = {k: v for k, v in a.items() if v is not None}
    rb = {k: v for k, v in b.items() if v is not None}
    if not ra or not rb:
        return "unanswered", pairings
    present = {c for _, _, c in pairings}
    for cls in ("complementary", "mismatch", "discuss", "unanswered", "neither"):
        if cls in present:
            return cls, pairings
    raise AssertionError("unreachable")


@pytest.mark.parametrize("item", COUNTERPART_ITEMS, ids=lambda i: i["link_id"])
def test_every_combination_on_counterpart_roles(item):
    first, second = (r["key"] for r in item["roles"])
    seen = set()
    for a1, a2, b1, b2 in itertools.product(ANSWERS, repeat=4):
        a, b = {first: a1, second: a2}, {first: b1, second: b2}
        r = matching.compare_pair(item, "A", ans(a), "B", ans(b))
        cls, pairings = _expected_item(item, a, b)
        assert r.cls == cls, (a, b, r)
        assert [(p.role_a, p.role_b, p.cls) for p in r.pairings] == pairings, (a, b)
        assert r.cls != "mutual", "roles with a counterpart never match mutually"
        # complementary needs A's yes on a role and B's yes on its counterpart
        complementary = (a1 in POSITIVE and b2 in POSITIVE) or (a2 in POSITIVE and b1 in POSITIVE)
        assert (r.cls == "complementary") == complementary, (a, b)
        for m in r.matches:
            assert m.answer_a in POSITIVE and m.answer_b in POSITIVE
            assert m.role_b == next(x["counterpart"] for x in item["roles"] if x["key"] == m.role_a)
        # the class does not depend on who is "A"
        assert matching.compare_pair(item, "B", ans(b), "A", ans(a)).cls == r.cls
        seen.add(r.cls)
    assert seen == {"complementary", "mismatch", "discuss", "unanswered", "neither"}


@pytest.mark.parametrize("item", COUNTERPART_ITEMS, ids=lambda i: i["link_id"])
@pytest.mark.parametrize("wish", sorted(POSITIVE))
@pytest.mark.parametrize("other_role_answer", ["no", "maybe", "if_partner", None])
def test_both_wanting_only_the_same_one_sided_role_do_not_match(item, wish, other_role_answer):
    first, second = (r["key"] for r in item["roles"])
    for one_sided in (first, second):  # both only give, or both only receive
        other = second if one_sided == first else first
        a = ans({one_sided: wish, other: other_role_answer})
        b = ans({one_sided: "yes", other: other_role_answer})
        r = matching.compare_pair(item, "A", a, "B", b)
        assert r.cls not in matching.MATCH_CLASSES, (one_sided, r)
        assert r.matches == []


def test_complementary_in_words():
    a = ans({"give": "yes", "receive": "no"})
    b = ans({"give": "no", "receive": "want_to_try"})
    r = matching.compare_pair(GIVE_RECEIVE, "A", a, "B", b)
    assert r.cls == "complementary"
    assert [(m.role_a, m.role_b, m.cls) for m in r.matches] == [
        ("give", "receive", "complementary")
    ]
    r = matching.compare_pair(LEAD_FOLLOW, "A", ans({"follow": "yes"}), "B", ans({"lead": "yes"}))
    assert r.cls == "complementary"
    assert [(m.role_a, m.role_b) for m in r.matches] == [("follow", "lead")]


def test_an_item_with_a_shared_role_and_counterpart_roles():
    item = {
        "link_id": "m",
        "type": "desire",
        "text": "Mixed",
        "roles": [{"key": "together", "label": "Together"}] + GIVE_RECEIVE["roles"],
    }
    a = ans({"together": "yes", "give": "yes"})
    b = ans({"together": "want_to_try", "receive": "no"})
    r = matching.compare_pair(item, "A", a, "B", b)
    assert [(p.role_a, p.role_b, p.cls) for p in r.pairings] == [
        ("together", "together", "mutual"),
        ("give", "receive", "mismatch"),
        ("receive", "give", "unanswered"),
    ]
    assert r.cls == "mutual"
    assert [(m.role_a, m.cls) for m in r.matches] == [("together", "mutual")]


# ---- hard limits per role -------------------------------------------------------------------


def expected_with_limits(item, a, b, limits_a, limits_b):
    """The issue's rules with hard limits per role: [(role_a, role_b, class)]."""
    out = []
    for role in item["roles"]:
        mine, other = role["key"], role.get("counterpart", role["key"])
        x, y = a.get(mine), b.get(other)
        if mine in limits_a or other in limits_b:
            hit = (mine in limits_a and y in POSITIVE) or (other in limits_b and x in POSITIVE)
            out.append((mine, other, "limit_collision" if hit else "limit"))
        elif not (a or limits_a) or not (b or limits_b):
            out.append((mine, other, "unanswered"))
        else:
            out.append((mine, other, expected_pairing(x, y, shared="counterpart" not in role)))
    return out


def subsets(keys):
    return [set(c) for n in range(len(keys) + 1) for c in itertools.combinations(keys, n)]


@pytest.mark.parametrize("item", [TOGETHER, GIVE_RECEIVE, LEAD_FOLLOW], ids=lambda i: i["link_id"])
def test_hard_limits_per_role_against_every_answer_of_the_other(item):
    keys = [r["key"] for r in item["roles"]]
    tried = 0
    for la in subsets(keys):
        for lb in subsets(keys):
            for xa in itertools.product(ANSWERS, repeat=len(keys)):
                for xb in itertools.product(ANSWERS, repeat=len(keys)):
                    ra = {k: v for k, v in zip(keys, xa, strict=True) if v}
                    rb = {k: v for k, v in zip(keys, xb, strict=True) if v}
                    a, b = ans(ra, limits=la), ans(rb, limits=lb)
                    r = matching.compare_pair(item, "A", a, "B", b)
                    want = expected_with_limits(item, ra, rb, la, lb)
                    assert [(p.role_a, p.role_b, p.cls) for p in r.pairings] == want
                    # a match is exactly a pairing of two wished roles, neither a limit
                    assert [(m.role_a, m.role_b) for m in r.matches] == [
                        (x, y) for x, y, c in want if c in ("mutual", "complementary")
                    ]
                    classes = {c for _, _, c in want}
                    assert ("limit_collision" in classes) <= ("limit" in r.classes)
                    assert r.cls in r.classes and set(r.classes) <= classes | {"limit"}
                    if "limit_collision" in classes:
                        assert r.cls == "limit_collision"
                    tried += 1
    assert tried > 0


def test_a_limit_on_receiving_keeps_the_match_where_that_partner_gives():
    """The issue's case: giving is fine, receiving is a hard limit."""
    a = ans({"give": "yes"}, limits={"receive"})
    b = ans({"give": "yes", "receive": "yes"})
    r = matching.compare_pair(GIVE_RECEIVE, "A", a, "B", b)
    assert [(p.role_a, p.role_b, p.cls) for p in r.pairings] == [
        ("give", "receive", "complementary"),
        ("receive", "give", "limit_collision"),
    ]
    assert [(m.role_a, m.role_b) for m in r.matches] == [("give", "receive")]
    assert r.cls == "limit_collision"
    assert r.classes == ("limit_collision", "complementary", "limit")
    # without B's wish to give, the limit collides with nothing: a match and a limit
    r = matching.compare_pair(GIVE_RECEIVE, "A", a, "B", ans({"receive": "yes", "give": "no"}))
    assert r.cls == "complementary" and r.classes == ("complementary", "limit")


def test_an_item_wide_limit_of_older_answers_becomes_a_limit_on_every_answered_role():
    old = {"roles": {"give": "no"}, "hard_limit": True, "note": ""}
    assert desire_value(GIVE_RECEIVE, old)["limits"] == ["give"]
    # a limit with no role answered was a limit on the whole item: every role
    old = {"roles": {}, "hard_limit": True, "note": ""}
    assert desire_value(GIVE_RECEIVE, old)["limits"] == ["give", "receive"]
    r = matching.compare_pair(TOGETHER, "A", old, "B", ans({"together": "yes"}))
    assert r.cls == "limit_collision" and r.matches == []
    # both said yes and both marked the item a limit (contradictory but possible)
    both = {"roles": {"together": "yes"}, "hard_limit": True, "note": ""}
    r = matching.compare_pair(TOGETHER, "A", both, "B", both)
    assert r.cls == "limit_collision" and r.matches == []


# ---- fantasy only ----------------------------------------------------------------------


@pytest.mark.parametrize("wish", ["yes", "want_to_try"])
def test_fantasy_only_never_counts_as_a_match(wish):
    fantasy = ans({"together": wish}, fantasy=True)
    for other in (ans({"together": "yes"}), ans({"together": wish}, fantasy=True)):
        r = matching.compare_pair(TOGETHER, "A", fantasy, "B", other)
        assert r.matches == [] and r.cls == "discuss"
    r = matching.compare_pair(
        GIVE_RECEIVE, "A", ans({"give": wish}, fantasy=True), "B", ans({"receive": "yes"})
    )
    assert r.matches == [] and r.cls == "discuss"
    # the same answers without the mark match
    r = matching.compare_pair(TOGETHER, "A", ans({"together": wish}), "B", ans({"together": "yes"}))
    assert r.cls == "mutual"


def test_a_fantasy_yes_still_runs_into_a_limit():
    r = matching.compare_pair(
        TOGETHER,
        "A",
        ans({"together": "yes"}, fantasy=True),
        "B",
        ans({}, limits={"together"}),
    )
    assert r.cls == "limit_collision"


# ---- many partners ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_compare_item_gives_every_pair_once(n):
    keys = [f"P{i}" for i in range(n)]
    answers = {
        k: ans({"give": ANSWERS[i % 6], "receive": ANSWERS[(i + 2) % 6]})
        for i, k in enumerate(keys)
    }
    results = matching.compare_item(GIVE_RECEIVE, answers)
    assert len(results) == comb(n, 2)
    assert [(r.partner_a, r.partner_b) for r in results] == list(itertools.combinations(keys, 2))
    for r in results:
        assert r.link_id == "g"
        assert (
            r.cls
            == matching.compare_pair(
                GIVE_RECEIVE, r.partner_a, answers[r.partner_a], r.partner_b, answers[r.partner_b]
            ).cls
        )


def test_counts_count_every_class_of_a_pair():
    assert matching.counts([]) == {c: 0 for c in matching.CLASS_ORDER}
    answers = {
        "A": ans({"give": "yes", "receive": "no"}),
        "B": ans({"give": "no", "receive": "yes"}),
        "C": ans({"give": "no", "receive": "no"}, limits={"give", "receive"}),
        "D": ans({}),
        "E": ans({"give": "yes", "receive": "yes"}, limits={"receive"}),
    }
    results = matching.compare_item(GIVE_RECEIVE, answers)
    got = matching.counts(results)
    assert list(got) == list(matching.CLASS_ORDER)
    # a pair counts under each of its classes: the count of a class is the rows its filter shows
    for c in matching.CLASS_ORDER:
        assert got[c] == sum(1 for r in results if c in r.classes)
    # every limit is a limit, also where it collides: each pair with C or E (7 of 10)
    assert got["limit"] == 7 and got["limit_collision"] == 4
    by_pair = {(r.partner_a, r.partner_b): r for r in results}
    assert by_pair[("A", "B")].classes == ("complementary", "neither")
    assert by_pair[("A", "C")].classes == ("limit_collision", "limit")
    assert by_pair[("C", "D")].classes == ("limit",)
    assert by_pair[("A", "D")].classes == ("unanswered",)
    # A's wish to give runs into E's limit on receiving; A's no on receiving meets E's giving
    assert by_pair[("A", "E")].classes == ("limit_collision", "mismatch", "limit")
    # B receives what E gives: E's limit on receiving does not hide it
    assert by_pair[("B", "E")].classes == ("complementary", "limit")
    assert by_pair[("B", "E")].cls == "complementary"
    assert [(m.role_a, m.role_b) for m in by_pair[("B", "E")].matches] == [("receive", "give")]
    assert set(matching.CLASS_LABELS) == set(matching.CLASS_ORDER) == set(matching.CLASS_HELP)


def test_only_partners_in_a_relationship_are_compared():
    answers = {k: ans({"together": "yes"}) for k in "ABC"}
    related = {frozenset("AB"), frozenset("BC")}
    results = matching.compare_item(TOGETHER, answers, lambda a, b: frozenset((a, b)) in related)
    assert [(r.partner_a, r.partner_b) for r in results] == [("A", "B"), ("B", "C")]
