"""Cardiovascular risk scores: Framingham 10-year general CVD risk and the GRACE in-hospital
death score. Pure functions: numbers in, frozen results out.

References
----------
D'Agostino RB Sr, Vasan RS, Pencina MJ, Wolf PA, Cobain M, Massaro JM, Kannel WB.
    General cardiovascular risk profile for use in primary care: the Framingham Heart
    Study. Circulation 2008;117:743-753. (Cox equation: Table 2; points: Tables 3-8.)
Granger CB, Goldberg RJ, Dabbous O, et al. Predictors of hospital mortality in the Global
    Registry of Acute Coronary Events. Arch Intern Med 2003;163:2345-2353. (Points and the
    nomogram of in-hospital death.)

>>> round(framingham_10y("female", 61, 180, 47, 124, False, True, False).risk_pct, 2)
10.48
>>> grace_in_hospital(65, 80, 145, 1.0, 1, False, True, True).points
140
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

Sex = Literal["male", "female"]

# Molar masses: cholesterol 386.65 g/mol -> 1 mmol/L = 38.67 mg/dL; creatinine 113.12 g/mol
# -> 1 mg/dL = 88.42 µmol/L.
CHOLESTEROL_MG_DL_PER_MMOL_L = 38.67
CREATININE_UMOL_L_PER_MG_DL = 88.42


def cholesterol_mmol_l_to_mg_dl(value_mmol_l: float) -> float:
    return value_mmol_l * CHOLESTEROL_MG_DL_PER_MMOL_L


def creatinine_umol_l_to_mg_dl(value_umol_l: float) -> float:
    return value_umol_l / CREATININE_UMOL_L_PER_MG_DL


@dataclass(frozen=True)
class FactorPoints:
    """One line of a points explanation: the factor, the band it fell in, its points."""

    factor: str
    band: str
    points: int


# --- Framingham 2008 --------------------------------------------------------------------


@dataclass(frozen=True)
class _Coefficients:
    ln_age: float
    ln_total_cholesterol: float
    ln_hdl: float
    ln_sbp_untreated: float
    ln_sbp_treated: float
    smoker: float
    diabetic: float
    baseline_survival_10y: float
    mean_linear_predictor: float


# Table 2 of D'Agostino 2008.
_COEFFICIENTS = {
    "female": _Coefficients(2.32888, 1.20904, -0.70833, 2.76157, 2.82263, 0.52873, 0.69154, 0.95012, 26.1931),
    "male": _Coefficients(3.06117, 1.12370, -0.93263, 1.93303, 1.99881, 0.65451, 0.57367, 0.88936, 23.9802),
}

# The points tables of the paper. Each band is (lower bound, inclusive; points); a value
# belongs to the last band whose lower bound it reaches. Bounds are those printed in the
# paper (e.g. "35-39" starts at 35, "<120" is everything below 120).
_AGE_POINTS = {
    "female": [(0, 0), (35, 2), (40, 4), (45, 5), (50, 7), (55, 8), (60, 9), (65, 10), (70, 11), (75, 12)],
    "male": [(0, 0), (35, 2), (40, 5), (45, 6), (50, 8), (55, 10), (60, 11), (65, 12), (70, 14), (75, 15)],
}
_HDL_POINTS = [(0, 2), (35, 1), (45, 0), (50, -1), (60, -2)]  # both sexes
_TOTAL_CHOLESTEROL_POINTS = {
    "female": [(0, 0), (160, 1), (200, 3), (240, 4), (280, 5)],
    "male": [(0, 0), (160, 1), (200, 2), (240, 3), (280, 4)],
}
_SBP_POINTS = {
    ("female", False): [(0, -3), (120, 0), (130, 1), (140, 2), (150, 4), (160, 5)],
    ("female", True): [(0, -1), (120, 2), (130, 3), (140, 5), (150, 6), (160, 7)],
    ("male", False): [(0, -2), (120, 0), (130, 1), (140, 2), (160, 3)],
    ("male", True): [(0, 0), (120, 2), (130, 3), (140, 4), (160, 5)],
}
_SMOKER_POINTS = {"female": 3, "male": 4}
_DIABETIC_POINTS = {"female": 4, "male": 3}
# Points total -> 10-year risk (%), from the lowest to the highest printed total; below the
# first entry the paper prints "<1", above the last ">30".
_POINTS_RISK = {
    "female": (
        -1,
        [
            1.0,
            1.2,
            1.5,
            1.7,
            2.0,
            2.4,
            2.8,
            3.3,
            3.9,
            4.5,
            5.3,
            6.3,
            7.3,
            8.6,
            10.0,
            11.7,
            13.7,
            15.9,
            18.5,
            21.5,
            24.8,
            28.5,
        ],
    ),
    "male": (
        -2,
        [
            1.1,
            1.4,
            1.6,
            1.9,
            2.3,
            2.8,
            3.3,
            3.9,
            4.7,
            5.6,
            6.7,
            7.9,
            9.4,
            11.2,
            13.2,
            15.6,
            18.4,
            21.6,
            25.3,
            29.4,
        ],
    ),
}

VALIDATED_AGE_RANGE = (30, 74)
# Heart (vascular) age: the age of a person of the same sex with the same predicted risk
# but normal risk factors (D'Agostino 2008): TC 180 mg/dL, HDL 45 mg/dL, SBP 125 mmHg
# untreated, non-smoker, non-diabetic.
_NORMAL_TOTAL_CHOLESTEROL, _NORMAL_HDL, _NORMAL_SBP = 180.0, 45.0, 125.0

RiskCategory = Literal["low", "intermediate", "high"]


@dataclass(frozen=True)
class FraminghamResult:
    risk_pct: float  # from the Cox equation: the number to use
    category: RiskCategory  # low < 10 %, intermediate 10-20 %, high > 20 %
    points: int  # the paper's simplified score, for the explanation
    points_risk_text: str  # what the points table says, e.g. "10.0", "<1", ">30"
    factors: tuple[FactorPoints, ...]
    heart_age_years: float
    outside_validated_age: bool
    warnings: tuple[str, ...]

    @property
    def heart_age_text(self) -> str:
        if self.heart_age_years < 30:
            return "under 30"
        if self.heart_age_years > 80:
            return "over 80"
        return f"{self.heart_age_years:.0f}"


def _band_points(value: float, bands: list[tuple[float, int]], step: float = 1) -> tuple[str, int]:
    """Points of the band a value falls in, and the band as printed ("50–69", "< 35", "≥ 60").

    `step` is the printed resolution (1 for mmHg or years, 0.01 for creatinine in mg/dL):
    the band "50–69" is every value from 50 up to, not including, 70.
    """
    bounds = [lower for lower, _ in bands]
    index = max(bisect_right(bounds, value) - 1, 0)
    lower, points = bands[index]
    decimals = 2 if step < 1 else 0
    if index == 0:
        label = f"< {bands[1][0]:.{decimals}f}"
    elif index == len(bands) - 1:
        label = f"≥ {lower:.{decimals}f}"
    else:
        label = f"{lower:.{decimals}f}–{bands[index + 1][0] - step:.{decimals}f}"
    return label, points


def _check_sex(sex: str) -> Sex:
    if sex not in ("male", "female"):
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    return sex  # type: ignore[return-value]


def _positive(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def framingham_linear_predictor(
    sex: Sex,
    age: float,
    total_cholesterol_mg_dl: float,
    hdl_mg_dl: float,
    sbp_mmhg: float,
    bp_treated: bool,
    smoker: bool,
    diabetic: bool,
) -> float:
    c = _COEFFICIENTS[_check_sex(sex)]
    sbp_coefficient = c.ln_sbp_treated if bp_treated else c.ln_sbp_untreated
    return (
        c.ln_age * math.log(_positive("age", age))
        + c.ln_total_cholesterol * math.log(_positive("total cholesterol", total_cholesterol_mg_dl))
        + c.ln_hdl * math.log(_positive("HDL", hdl_mg_dl))
        + sbp_coefficient * math.log(_positive("systolic blood pressure", sbp_mmhg))
        + c.smoker * bool(smoker)
        + c.diabetic * bool(diabetic)
    )


def _risk_from_linear_predictor(sex: Sex, linear_predictor: float) -> float:
    c = _COEFFICIENTS[sex]
    return 100.0 * (1.0 - c.baseline_survival_10y ** math.exp(linear_predictor - c.mean_linear_predictor))


def framingham_category(risk_pct: float) -> RiskCategory:
    if risk_pct < 10.0:
        return "low"
    if risk_pct <= 20.0:
        return "intermediate"
    return "high"


def framingham_10y(
    sex: Sex,
    age: float,
    total_cholesterol_mg_dl: float,
    hdl_mg_dl: float,
    sbp_mmhg: float,
    bp_treated: bool,
    smoker: bool,
    diabetic: bool,
) -> FraminghamResult:
    """10-year risk (%) of a first cardiovascular event (coronary, cerebrovascular,
    peripheral arterial disease, heart failure) by D'Agostino et al. 2008.

    risk = 1 - S0(10) ** exp(Σ βx - mean Σ βx), with sex-specific β, S0 and mean (Table 2).
    Outside ages 30-74 (the cohort's range) the result is still given, with a warning.
    """
    sex = _check_sex(sex)
    linear_predictor = framingham_linear_predictor(
        sex, age, total_cholesterol_mg_dl, hdl_mg_dl, sbp_mmhg, bp_treated, smoker, diabetic
    )
    risk_pct = _risk_from_linear_predictor(sex, linear_predictor)

    factors = []
    for name, value, bands in (
        ("Age", age, _AGE_POINTS[sex]),
        ("HDL cholesterol (mg/dL)", hdl_mg_dl, _HDL_POINTS),
        ("Total cholesterol (mg/dL)", total_cholesterol_mg_dl, _TOTAL_CHOLESTEROL_POINTS[sex]),
        (
            f"Systolic BP, {'treated' if bp_treated else 'not treated'} (mmHg)",
            sbp_mmhg,
            _SBP_POINTS[(sex, bool(bp_treated))],
        ),
    ):
        band, points = _band_points(value, bands)
        factors.append(FactorPoints(name, band, points))
    factors.append(FactorPoints("Smoker", "yes" if smoker else "no", _SMOKER_POINTS[sex] if smoker else 0))
    factors.append(
        FactorPoints("Diabetes", "yes" if diabetic else "no", _DIABETIC_POINTS[sex] if diabetic else 0)
    )
    total = sum(factor.points for factor in factors)
    first_total, risks = _POINTS_RISK[sex]
    if total < first_total:
        points_risk_text = "<1"
    elif total >= first_total + len(risks):
        points_risk_text = ">30"
    else:
        points_risk_text = f"{risks[total - first_total]:.1f}"

    warnings = []
    outside = not (VALIDATED_AGE_RANGE[0] <= age <= VALIDATED_AGE_RANGE[1])
    if outside:
        warnings.append(
            f"Age {age:g} is outside 30–74 years, the range the Framingham equation was built on: "
            "the estimate is less reliable."
        )
    return FraminghamResult(
        risk_pct=risk_pct,
        category=framingham_category(risk_pct),
        points=total,
        points_risk_text=points_risk_text,
        factors=tuple(factors),
        heart_age_years=_heart_age(sex, linear_predictor),
        outside_validated_age=outside,
        warnings=tuple(warnings),
    )


def _heart_age(sex: Sex, linear_predictor: float) -> float:
    """Solve the equation for the age that gives this risk with normal risk factors."""
    c = _COEFFICIENTS[sex]
    rest = (
        c.ln_total_cholesterol * math.log(_NORMAL_TOTAL_CHOLESTEROL)
        + c.ln_hdl * math.log(_NORMAL_HDL)
        + c.ln_sbp_untreated * math.log(_NORMAL_SBP)
    )
    return math.exp((linear_predictor - rest) / c.ln_age)


@dataclass(frozen=True)
class RiskReduction:
    """What bringing one modifiable factor to its target would do to the 10-year risk."""

    factor: str
    current: str
    target: str
    risk_after_pct: float
    reduction_pct_points: float


def framingham_modifiable_factors(
    sex: Sex,
    age: float,
    total_cholesterol_mg_dl: float,
    hdl_mg_dl: float,
    sbp_mmhg: float,
    bp_treated: bool,
    smoker: bool,
    diabetic: bool,
) -> list[RiskReduction]:
    """Each modifiable factor that is off target, with the risk if it alone reached target,
    largest reduction first: which factor to treat first.

    Targets: stop smoking; systolic BP 120 mmHg (the paper's lowest band, with the treated
    coefficient kept if already treated: the equation cannot tell treatment effects
    apart); total cholesterol 160 mg/dL and HDL 60 mg/dL (the paper's lowest/highest
    bands). Diabetes and age are not modifiable here. Decision support, not a prescription.
    """
    inputs = dict(
        sex=sex,
        age=age,
        total_cholesterol_mg_dl=total_cholesterol_mg_dl,
        hdl_mg_dl=hdl_mg_dl,
        sbp_mmhg=sbp_mmhg,
        bp_treated=bp_treated,
        smoker=smoker,
        diabetic=diabetic,
    )
    baseline = framingham_10y(**inputs).risk_pct
    candidates = []
    if smoker:
        candidates.append(("Smoking", "smoker", "non-smoker", {"smoker": False}))
    if sbp_mmhg > 120:
        candidates.append(("Systolic blood pressure", f"{sbp_mmhg:g} mmHg", "120 mmHg", {"sbp_mmhg": 120.0}))
    if total_cholesterol_mg_dl > 160:
        candidates.append(
            (
                "Total cholesterol",
                f"{total_cholesterol_mg_dl:g} mg/dL",
                "160 mg/dL",
                {"total_cholesterol_mg_dl": 160.0},
            )
        )
    if hdl_mg_dl < 60:
        candidates.append(("HDL cholesterol", f"{hdl_mg_dl:g} mg/dL", "60 mg/dL", {"hdl_mg_dl": 60.0}))
    reductions = []
    for factor, current, target, change in candidates:
        after = framingham_10y(**{**inputs, **change}).risk_pct
        reductions.append(RiskReduction(factor, current, target, after, baseline - after))
    return sorted(reductions, key=lambda r: r.reduction_pct_points, reverse=True)


# --- GRACE (in-hospital death) -------------------------------------------------------------

# Granger 2003: points per variable. Bands as printed ("50-69" = from 50 up to, not
# including, 70); the lower bound is inclusive, so a value on an edge takes the higher band.
_GRACE_AGE = [(0, 0), (30, 8), (40, 25), (50, 41), (60, 58), (70, 75), (80, 91), (90, 100)]
_GRACE_HEART_RATE = [(0, 0), (50, 3), (70, 9), (90, 15), (110, 24), (150, 38), (200, 46)]
_GRACE_SBP = [(0, 58), (80, 53), (100, 43), (120, 34), (140, 24), (160, 10), (200, 0)]
_GRACE_CREATININE = [(0, 1), (0.40, 4), (0.80, 7), (1.20, 10), (1.60, 13), (2.00, 21), (4.00, 28)]
_GRACE_KILLIP = {1: 0, 2: 20, 3: 39, 4: 59}
_GRACE_CARDIAC_ARREST, _GRACE_ST_DEVIATION, _GRACE_ELEVATED_ENZYMES = 39, 28, 14
# The nomogram: total points -> probability of in-hospital death (%).
_GRACE_NOMOGRAM = [
    (60, 0.2),
    (70, 0.3),
    (80, 0.4),
    (90, 0.6),
    (100, 0.8),
    (110, 1.1),
    (120, 1.6),
    (130, 2.1),
    (140, 2.9),
    (150, 3.9),
    (160, 5.4),
    (170, 7.3),
    (180, 9.8),
    (190, 13.0),
    (200, 18.0),
    (210, 23.0),
    (220, 29.0),
    (230, 36.0),
    (240, 44.0),
    (250, 52.0),
]

GRACE_INTENDED_USE = (
    "GRACE estimates the risk of death in hospital for a patient admitted with an acute "
    "coronary syndrome (myocardial infarction or unstable angina). It does not apply to "
    "other patients."
)


@dataclass(frozen=True)
class GraceResult:
    points: int
    mortality_pct: float
    mortality_text: str  # "≤0.2 %", "2.9 %", "≥52 %"
    factors: tuple[FactorPoints, ...]


def grace_mortality_pct(points: float) -> tuple[float, str]:
    """In-hospital death (%) from the nomogram, interpolated between its printed points.

    Between two printed points the probability is interpolated log-linearly (the
    nomogram's probabilities grow roughly exponentially with the score), so printed
    points are returned exactly. Below 60 points the nomogram prints "≤0.2 %" and above
    250 "≥52 %": those ends are returned as 0.2 and 52 with the ≤ / ≥ in the text, never
    extrapolated.
    """
    first_points, first_pct = _GRACE_NOMOGRAM[0]
    last_points, last_pct = _GRACE_NOMOGRAM[-1]
    if points <= first_points:
        return first_pct, f"≤{first_pct:g} %"
    if points >= last_points:
        return last_pct, f"≥{last_pct:g} %"
    for (p0, m0), (p1, m1) in zip(_GRACE_NOMOGRAM, _GRACE_NOMOGRAM[1:], strict=False):
        if p0 <= points <= p1:
            fraction = (points - p0) / (p1 - p0)
            value = math.exp(math.log(m0) + fraction * (math.log(m1) - math.log(m0)))
            return value, f"{value:.1f} %"
    raise AssertionError("unreachable: the nomogram covers 60-250")


def grace_in_hospital(
    age: float,
    heart_rate_bpm: float,
    sbp_mmhg: float,
    creatinine_mg_dl: float,
    killip_class: int,
    cardiac_arrest: bool,
    st_deviation: bool,
    elevated_enzymes: bool,
) -> GraceResult:
    """GRACE score for in-hospital death in acute coronary syndrome (Granger et al. 2003)."""
    if killip_class not in _GRACE_KILLIP:
        raise ValueError(f"Killip class must be 1, 2, 3 or 4, got {killip_class!r}")
    for name, value in (
        ("age", age),
        ("heart rate", heart_rate_bpm),
        ("systolic BP", sbp_mmhg),
        ("creatinine", creatinine_mg_dl),
    ):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a number ≥ 0, got {value!r}")
    factors = []
    for name, value, bands, step in (
        ("Age (years)", age, _GRACE_AGE, 1),
        ("Heart rate (bpm)", heart_rate_bpm, _GRACE_HEART_RATE, 1),
        ("Systolic BP (mmHg)", sbp_mmhg, _GRACE_SBP, 1),
        ("Creatinine (mg/dL)", creatinine_mg_dl, _GRACE_CREATININE, 0.01),
    ):
        band, points = _band_points(value, bands, step)
        factors.append(FactorPoints(name, band, points))
    factors.append(
        FactorPoints("Killip class", "I II III IV".split()[killip_class - 1], _GRACE_KILLIP[killip_class])
    )
    for name, present, points in (
        ("Cardiac arrest at admission", cardiac_arrest, _GRACE_CARDIAC_ARREST),
        ("ST-segment deviation", st_deviation, _GRACE_ST_DEVIATION),
        ("Elevated cardiac enzymes", elevated_enzymes, _GRACE_ELEVATED_ENZYMES),
    ):
        factors.append(FactorPoints(name, "yes" if present else "no", points if present else 0))
    total = sum(factor.points for factor in factors)
    mortality_pct, mortality_text = grace_mortality_pct(total)
    return GraceResult(total, mortality_pct, mortality_text, tuple(factors))
