"""Framingham 2008 and GRACE 2003 against the papers' own worked examples and tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.risk import (
    cholesterol_mmol_l_to_mg_dl,
    creatinine_umol_l_to_mg_dl,
    framingham_10y,
    framingham_category,
    framingham_modifiable_factors,
    grace_in_hospital,
    grace_mortality_pct,
)

# --- Framingham: the two worked examples of D'Agostino et al. 2008 -----------------------


def test_worked_example_woman():
    result = framingham_10y("female", 61, 180, 47, 124, False, True, False)
    assert result.risk_pct == pytest.approx(10.48, abs=0.05)
    assert result.points == 13
    assert result.points_risk_text == "10.0"
    assert result.category == "intermediate"


def test_worked_example_man():
    result = framingham_10y("male", 53, 161, 55, 125, True, False, True)
    assert result.risk_pct == pytest.approx(15.62, abs=0.05)
    assert result.points == 13
    assert result.points_risk_text == "15.6"


def test_points_explanation_adds_up_band_by_band():
    result = framingham_10y("female", 61, 180, 47, 124, False, True, False)
    bands = {
        factor.factor.split(" (")[0].split(",")[0]: (factor.band, factor.points) for factor in result.factors
    }
    assert bands["Age"] == ("60–64", 9)
    assert bands["HDL cholesterol"] == ("45–49", 0)
    assert bands["Total cholesterol"] == ("160–199", 1)
    assert bands["Systolic BP"] == ("120–129", 0)
    assert bands["Smoker"] == ("yes", 3)
    assert sum(points for _, points in bands.values()) == result.points


def test_heart_age_agrees_with_the_papers_heart_age_table():
    # The paper's points table gives heart age 73 for a woman with 13 points and 64 for a
    # man with 13 points; the equation (normal factors TC 180, HDL 45, SBP 125 untreated)
    # solves to the same ages within the table's 1-point resolution.
    assert framingham_10y("female", 61, 180, 47, 124, False, True, False).heart_age_years == pytest.approx(
        73, abs=3
    )
    assert framingham_10y("male", 53, 161, 55, 125, True, False, True).heart_age_years == pytest.approx(
        64, abs=1
    )
    # A person with exactly the normal factors has a heart age equal to their age.
    assert framingham_10y("male", 50, 180, 45, 125, False, False, False).heart_age_years == pytest.approx(50)


@pytest.mark.parametrize(
    "risk,category", [(9.99, "low"), (10.0, "intermediate"), (20.0, "intermediate"), (20.01, "high")]
)
def test_category_bands(risk, category):
    assert framingham_category(risk) == category


@pytest.mark.parametrize("age", [29, 75, 90])
def test_outside_the_validated_ages_a_warning_is_given(age):
    result = framingham_10y("male", age, 200, 50, 130, False, False, False)
    assert result.outside_validated_age and "30–74" in result.warnings[0]
    assert 0 < result.risk_pct < 100


def test_inside_the_validated_ages_no_warning():
    assert framingham_10y("male", 30, 200, 50, 130, False, False, False).warnings == ()
    assert framingham_10y("male", 74, 200, 50, 130, False, False, False).warnings == ()


def test_points_table_ends():
    assert framingham_10y("female", 30, 150, 70, 110, False, False, False).points_risk_text == "<1"
    assert framingham_10y("male", 74, 300, 30, 180, True, True, True).points_risk_text == ">30"


def test_modifiable_factors_rank_by_risk_reduction():
    factors = framingham_modifiable_factors("female", 61, 180, 47, 124, False, True, False)
    assert [f.factor for f in factors][0] == "Smoking"
    reductions = [f.reduction_pct_points for f in factors]
    assert reductions == sorted(reductions, reverse=True) and all(r > 0 for r in reductions)
    assert framingham_modifiable_factors("male", 50, 150, 65, 110, False, False, False) == []


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_nonsense_inputs_are_refused(bad):
    with pytest.raises(ValueError):
        framingham_10y("female", 50, bad, 50, 120, False, False, False)


def test_sex_must_be_male_or_female():
    with pytest.raises(ValueError, match="sex"):
        framingham_10y("F", 50, 200, 50, 120, False, False, False)  # type: ignore[arg-type]


common = dict(
    sex=st.sampled_from(["male", "female"]),
    age=st.floats(30, 74),
    total_cholesterol_mg_dl=st.floats(100, 400),
    hdl_mg_dl=st.floats(20, 100),
    sbp_mmhg=st.floats(90, 200),
    bp_treated=st.booleans(),
    smoker=st.booleans(),
    diabetic=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(**common, delta=st.floats(0.5, 20))
def test_risk_rises_with_age_sbp_and_cholesterol_and_falls_with_hdl(
    sex, age, total_cholesterol_mg_dl, hdl_mg_dl, sbp_mmhg, bp_treated, smoker, diabetic, delta
):
    args = dict(
        sex=sex,
        age=age,
        total_cholesterol_mg_dl=total_cholesterol_mg_dl,
        hdl_mg_dl=hdl_mg_dl,
        sbp_mmhg=sbp_mmhg,
        bp_treated=bp_treated,
        smoker=smoker,
        diabetic=diabetic,
    )
    base = framingham_10y(**args).risk_pct
    assert framingham_10y(**{**args, "age": age + delta}).risk_pct > base
    assert framingham_10y(**{**args, "sbp_mmhg": sbp_mmhg + delta}).risk_pct > base
    assert (
        framingham_10y(**{**args, "total_cholesterol_mg_dl": total_cholesterol_mg_dl + delta}).risk_pct > base
    )
    assert framingham_10y(**{**args, "hdl_mg_dl": hdl_mg_dl + delta}).risk_pct < base
    assert 0 < base < 100


@settings(max_examples=200, deadline=None)
@given(**common)
def test_smoking_and_diabetes_raise_risk(
    sex, age, total_cholesterol_mg_dl, hdl_mg_dl, sbp_mmhg, bp_treated, smoker, diabetic
):
    args = dict(
        sex=sex,
        age=age,
        total_cholesterol_mg_dl=total_cholesterol_mg_dl,
        hdl_mg_dl=hdl_mg_dl,
        sbp_mmhg=sbp_mmhg,
        bp_treated=bp_treated,
    )
    assert (
        framingham_10y(**args, smoker=True, diabetic=diabetic).risk_pct
        > framingham_10y(**args, smoker=False, diabetic=diabetic).risk_pct
    )
    assert (
        framingham_10y(**args, smoker=smoker, diabetic=True).risk_pct
        > framingham_10y(**args, smoker=smoker, diabetic=False).risk_pct
    )


# --- GRACE: Granger et al. 2003 ---------------------------------------------------------


def test_grace_worked_example():
    result = grace_in_hospital(65, 80, 145, 1.0, 1, False, True, True)
    assert result.points == 140
    assert result.mortality_pct == pytest.approx(2.9, abs=0.05)


# Every band edge of every variable: (variable, value just below the edge, value at the
# edge, points below, points at). Bands as printed in the paper.
AGE_EDGES = [(30, 0, 8), (40, 8, 25), (50, 25, 41), (60, 41, 58), (70, 58, 75), (80, 75, 91), (90, 91, 100)]
HR_EDGES = [(50, 0, 3), (70, 3, 9), (90, 9, 15), (110, 15, 24), (150, 24, 38), (200, 38, 46)]
SBP_EDGES = [(80, 58, 53), (100, 53, 43), (120, 43, 34), (140, 34, 24), (160, 24, 10), (200, 10, 0)]
CREATININE_EDGES = [(0.40, 1, 4), (0.80, 4, 7), (1.20, 7, 10), (1.60, 10, 13), (2.00, 13, 21), (4.00, 21, 28)]
REFERENCE = dict(age=20, heart_rate_bpm=40, sbp_mmhg=250, creatinine_mg_dl=0.1)  # all 0 or 1 point


def grace_points(**changes) -> int:
    args = {**REFERENCE, **changes}
    return (
        grace_in_hospital(
            args["age"],
            args["heart_rate_bpm"],
            args["sbp_mmhg"],
            args["creatinine_mg_dl"],
            1,
            False,
            False,
            False,
        ).points
        - 1
    )  # the reference creatinine's 1 point


@pytest.mark.parametrize("edge,below,at", AGE_EDGES)
def test_grace_age_edges(edge, below, at):
    assert (grace_points(age=edge - 1), grace_points(age=edge)) == (below, at)
    assert grace_points(age=edge - 0.01) == below


@pytest.mark.parametrize("edge,below,at", HR_EDGES)
def test_grace_heart_rate_edges(edge, below, at):
    assert (grace_points(heart_rate_bpm=edge - 1), grace_points(heart_rate_bpm=edge)) == (below, at)


@pytest.mark.parametrize("edge,below,at", SBP_EDGES)
def test_grace_sbp_edges(edge, below, at):
    assert (grace_points(sbp_mmhg=edge - 1), grace_points(sbp_mmhg=edge)) == (below, at)


@pytest.mark.parametrize("edge,below,at", CREATININE_EDGES)
def test_grace_creatinine_edges(edge, below, at):
    assert (grace_points(creatinine_mg_dl=edge - 0.01) + 1, grace_points(creatinine_mg_dl=edge) + 1) == (
        below,
        at,
    )


@pytest.mark.parametrize("killip,points", [(1, 0), (2, 20), (3, 39), (4, 59)])
def test_grace_killip(killip, points):
    result = grace_in_hospital(20, 40, 250, 0.1, killip, False, False, False)
    assert result.points == 1 + points


def test_grace_yes_no_factors():
    base = grace_in_hospital(20, 40, 250, 0.1, 1, False, False, False).points
    assert grace_in_hospital(20, 40, 250, 0.1, 1, True, False, False).points - base == 39
    assert grace_in_hospital(20, 40, 250, 0.1, 1, False, True, False).points - base == 28
    assert grace_in_hospital(20, 40, 250, 0.1, 1, False, False, True).points - base == 14


@pytest.mark.parametrize(
    "points,pct",
    [(60, 0.2), (70, 0.3), (100, 0.8), (140, 2.9), (150, 3.9), (200, 18), (240, 44), (250, 52)],
)
def test_grace_nomogram_printed_points(points, pct):
    assert grace_mortality_pct(points)[0] == pytest.approx(pct)


def test_grace_nomogram_between_and_beyond_its_points():
    between, _ = grace_mortality_pct(145)
    assert 2.9 < between < 3.9
    assert grace_mortality_pct(20) == (0.2, "≤0.2 %")
    assert grace_mortality_pct(300) == (52.0, "≥52 %")
    values = [grace_mortality_pct(p)[0] for p in range(40, 280)]
    assert values == sorted(values)


def test_grace_refuses_a_killip_class_that_does_not_exist():
    with pytest.raises(ValueError, match="Killip"):
        grace_in_hospital(60, 80, 120, 1.0, 5, False, False, False)


def test_unit_conversions():
    assert cholesterol_mmol_l_to_mg_dl(5.0) == pytest.approx(193.35)
    assert creatinine_umol_l_to_mg_dl(88.42) == pytest.approx(1.0)
