using System.Text.RegularExpressions;

namespace CxEngine.Scoring;

/// <summary>
/// Every number of the scoring model for one tier. Policies are data: they come from configuration,
/// can be replaced at run time, and the scoring step reads them without allocating.
/// The property defaults are the model constants of SCORING.md; <see cref="Defaults"/> holds its three tiers.
/// </summary>
[GenerateSerializer, Immutable, Alias("cx.TierPolicy")]
public sealed partial record TierPolicy
{
    public const int MaxNameLength = 32;

    [Id(0)] public string Name { get; init; } = "";
    [Id(1)] public double InitialExpectation { get; init; }
    [Id(2)] public double ExpectationFloor { get; init; }
    [Id(3)] public double Baseline { get; init; }
    /// <summary>λ: how much steeper losses weigh than gains.</summary>
    [Id(4)] public double LossAversion { get; init; }
    [Id(5)] public double WaitTargetSeconds { get; init; }
    [Id(6)] public double PromiseToleranceMinutes { get; init; }
    [Id(7)] public double FrontLineCompensationLimit { get; init; }
    [Id(8)] public double CompensationCap { get; init; }
    /// <summary>Levels added to the gap-based severity ("premium customers are raised one level").</summary>
    [Id(9)] public int SeverityBoost { get; init; }

    /// <summary>N: neutral-satisfied score, the start value of S and the point decay pulls towards.</summary>
    [Id(10)] public double NeutralSatisfaction { get; init; } = 75;
    /// <summary>γ: gain sensitivity.</summary>
    [Id(11)] public double GainSensitivity { get; init; } = 1;
    /// <summary>η: how far one event moves S towards the event satisfaction.</summary>
    [Id(12)] public double LearningRate { get; init; } = 0.3;
    /// <summary>β when x &gt; E: expectations ratchet up.</summary>
    [Id(13)] public double ExpectationRiseRate { get; init; } = 0.15;
    /// <summary>β when x &lt; E: expectations come down slowly.</summary>
    [Id(14)] public double ExpectationFallRate { get; init; } = 0.03;
    [Id(15)] public double ExpectationCeiling { get; init; } = 95;
    /// <summary>h when S &gt; N: good memories fade fast. 0: they do not fade (version 3).</summary>
    [Id(16)] public double GoodMemoryHalfLifeDays { get; init; } = 14;
    /// <summary>h when S &lt; N: bad memories linger. 0: they do not fade (version 3).</summary>
    [Id(17)] public double BadMemoryHalfLifeDays { get; init; } = 60;
    /// <summary>An open action closes as recovered once S ≥ baseline + this.</summary>
    [Id(18)] public double RecoveryHysteresis { get; init; } = 5;
    /// <summary>Gap g = baseline − S below which an action is low.</summary>
    [Id(19)] public double LowSeverityGap { get; init; } = 5;
    /// <summary>Gap below which an action is medium; at or above it, high.</summary>
    [Id(20)] public double MediumSeverityGap { get; init; } = 15;
    [Id(21)] public double HighSlaHours { get; init; } = 1;
    [Id(22)] public double MediumSlaHours { get; init; } = 4;
    [Id(23)] public double LowSlaHours { get; init; } = 24;

    /// <summary>
    /// The tolerance of a promise grows with its lead time: max(<see cref="PromiseToleranceMinutes"/>, this ·
    /// (promised_at − made_at)). 0 keeps the fixed tolerance of version 1.
    /// </summary>
    [Id(24)] public double PromiseToleranceFraction { get; init; }
    /// <summary>A fall within this much event time after a RECOVERED close reopens that action instead of raising a new one.</summary>
    [Id(25)] public double ReopenWindowDays { get; init; } = 7;
    /// <summary>How many open promises a customer may hold; one more is rejected.</summary>
    [Id(26)] public int MaxOpenPromises { get; init; } = 32;

    // Signal weights of the experience value x (SCORING.md step 4); a tier can be calibrated on them. A weight of 0
    // ignores that signal; an event with nothing else to score is then recorded but scores nothing.
    [Id(27)] public double CsatWeight { get; init; } = 3;
    [Id(28)] public double PromiseWeight { get; init; } = 3;
    [Id(29)] public double EffortWeight { get; init; } = 2;
    [Id(30)] public double ResolutionWeight { get; init; } = 2;
    [Id(31)] public double ConductWeight { get; init; } = 2;
    [Id(32)] public double ComplaintWeight { get; init; } = 2;
    [Id(33)] public double WaitWeight { get; init; } = 1;
    [Id(34)] public double SentimentWeight { get; init; } = 1;

    /// <summary>
    /// Version 3: an open promise neither kept nor broken by promised_at + the fixed <see cref="PromiseToleranceMinutes"/>
    /// is felt at once, as an overdue step of performance <see cref="PromiseOverduePerformance"/>; false scores open
    /// promises exactly as version 2.
    /// </summary>
    [Id(35)] public bool PromiseOverdueStep { get; init; } = true;
    /// <summary>p of the overdue step (halved shortfall when the customer was warned before promised_at).</summary>
    [Id(36)] public double PromiseOverduePerformance { get; init; } = 25;

    public static TierPolicy Basic { get; } = new()
    {
        Name = "basic",
        InitialExpectation = 55,
        ExpectationFloor = 40,
        Baseline = 45,
        LossAversion = 1.8,
        WaitTargetSeconds = 180,
        PromiseToleranceMinutes = 60,
        PromiseToleranceFraction = 0.10,
        FrontLineCompensationLimit = 10,
        CompensationCap = 25,
    };

    public static TierPolicy Standard { get; } = new()
    {
        Name = "standard",
        InitialExpectation = 65,
        ExpectationFloor = 50,
        Baseline = 55,
        LossAversion = 2.25,
        WaitTargetSeconds = 90,
        PromiseToleranceMinutes = 30,
        PromiseToleranceFraction = 0.07,
        FrontLineCompensationLimit = 25,
        CompensationCap = 100,
    };

    public static TierPolicy Premium { get; } = new()
    {
        Name = "premium",
        InitialExpectation = 80,
        ExpectationFloor = 70,
        Baseline = 65,
        LossAversion = 2.75,
        WaitTargetSeconds = 30,
        PromiseToleranceMinutes = 10,
        PromiseToleranceFraction = 0.05,
        FrontLineCompensationLimit = 50,
        CompensationCap = 500,
        SeverityBoost = 1,
    };

    /// <summary>The three tiers of SCORING.md.</summary>
    public static IReadOnlyList<TierPolicy> Defaults { get; } = [Basic, Standard, Premium];

    /// <summary>The built-in tier of that name, or the model's defaults for any other name.</summary>
    public static TierPolicy DefaultsFor(string name) => Defaults.FirstOrDefault(t => t.Name == name) ?? new TierPolicy { Name = name };

    /// <summary>
    /// A promise's tolerance in minutes: the fixed one, or the fraction of its lead time when that is longer
    /// (SCORING.md "Promises"). <paramref name="leadTicks"/> is promised_at − made_at, 0 when made_at is unknown.
    /// </summary>
    public double PromiseToleranceFor(long leadTicks) =>
        Math.Max(PromiseToleranceMinutes, PromiseToleranceFraction * Math.Max(0, leadTicks) / TimeSpan.TicksPerMinute);

    /// <summary>The fixed promise tolerance in ticks: an open promise is overdue this long after its promised time (version 3).</summary>
    public long PromiseOverdueAfterTicks => (long)(PromiseToleranceMinutes * TimeSpan.TicksPerMinute);

    public TimeSpan SlaFor(Severity severity) => TimeSpan.FromHours(severity switch
    {
        Severity.High => HighSlaHours,
        Severity.Medium => MediumSlaHours,
        _ => LowSlaHours,
    });

    /// <summary>
    /// Checks that the policy is one the model can run: names the first setting that is wrong, or returns null.
    /// </summary>
    public FieldError? Validate()
    {
        if (!IsValidName(Name))
        {
            return new FieldError("name", $"must be 1 to {MaxNameLength} characters of a-z, 0-9, '_' or '-', got '{Name}'");
        }

        return Check("initial_expectation", InitialExpectation, 0, 100)
            ?? Check("expectation_floor", ExpectationFloor, 0, 100)
            ?? Check("expectation_ceiling", ExpectationCeiling, 0, 100)
            ?? (ExpectationFloor > ExpectationCeiling ? Fail("expectation_floor", $"must not exceed expectation_ceiling ({ExpectationCeiling}), got {ExpectationFloor}") : null)
            ?? (InitialExpectation < ExpectationFloor || InitialExpectation > ExpectationCeiling
                ? Fail("initial_expectation", $"must lie between expectation_floor ({ExpectationFloor}) and expectation_ceiling ({ExpectationCeiling}), got {InitialExpectation}")
                : null)
            ?? Check("baseline", Baseline, 0, 100)
            ?? Check("loss_aversion", LossAversion, 1, 10)
            ?? CheckPositive("wait_target_seconds", WaitTargetSeconds)
            ?? CheckPositive("promise_tolerance_minutes", PromiseToleranceMinutes)
            ?? Check("front_line_compensation_limit", FrontLineCompensationLimit, 0, 1e9)
            ?? Check("compensation_cap", CompensationCap, FrontLineCompensationLimit, 1e9, "front_line_compensation_limit")
            ?? (SeverityBoost is < 0 or > 2 ? Fail("severity_boost", $"must be between 0 and 2, got {SeverityBoost}") : null)
            ?? Check("neutral_satisfaction", NeutralSatisfaction, 0, 100)
            ?? Check("gain_sensitivity", GainSensitivity, 0, 10)
            ?? CheckUnitRate("learning_rate", LearningRate)
            ?? CheckUnitRate("expectation_rise_rate", ExpectationRiseRate)
            ?? CheckUnitRate("expectation_fall_rate", ExpectationFallRate)
            ?? CheckHalfLife("good_memory_half_life_days", GoodMemoryHalfLifeDays)
            ?? CheckHalfLife("bad_memory_half_life_days", BadMemoryHalfLifeDays)
            ?? Check("recovery_hysteresis", RecoveryHysteresis, 0, 100)
            ?? CheckPositive("low_severity_gap", LowSeverityGap)
            ?? Check("medium_severity_gap", MediumSeverityGap, LowSeverityGap, 100, "low_severity_gap")
            ?? CheckPositive("high_sla_hours", HighSlaHours)
            ?? CheckPositive("medium_sla_hours", MediumSlaHours)
            ?? CheckPositive("low_sla_hours", LowSlaHours)
            ?? Check("promise_tolerance_fraction", PromiseToleranceFraction, 0, 1)
            ?? Check("reopen_window_days", ReopenWindowDays, 0, 365)
            ?? (MaxOpenPromises is < 0 or > 1000 ? Fail("max_open_promises", $"must be between 0 and 1000, got {MaxOpenPromises}") : null)
            ?? Check("csat_weight", CsatWeight, 0, 100)
            ?? Check("promise_weight", PromiseWeight, 0, 100)
            ?? Check("effort_weight", EffortWeight, 0, 100)
            ?? Check("resolution_weight", ResolutionWeight, 0, 100)
            ?? Check("conduct_weight", ConductWeight, 0, 100)
            ?? Check("complaint_weight", ComplaintWeight, 0, 100)
            ?? Check("wait_weight", WaitWeight, 0, 100)
            ?? Check("sentiment_weight", SentimentWeight, 0, 100)
            ?? Check("promise_overdue_performance", PromiseOverduePerformance, 0, 100);
    }

    private static FieldError? Fail(string field, string problem) => new FieldError(field, problem);

    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxNameLength && NamePattern().IsMatch(name);

    private static FieldError? Check(string field, double value, double min, double max, string? minName = null) =>
        double.IsFinite(value) && value >= min && value <= max
            ? null
            : new FieldError(field, $"must be a finite number between {minName ?? min.ToString(System.Globalization.CultureInfo.InvariantCulture)} and {max.ToString(System.Globalization.CultureInfo.InvariantCulture)}, got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

    private static FieldError? CheckPositive(string field, double value) =>
        double.IsFinite(value) && value > 0 ? null : new FieldError(field, $"must be a finite number above 0, got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

    private static FieldError? CheckHalfLife(string field, double value) =>
        double.IsFinite(value) && value >= 0 && value <= 36500
            ? null
            : new FieldError(field, $"must be a finite number of days between 0 (no fading) and 36500, got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

    private static FieldError? CheckUnitRate(string field, double value) =>
        double.IsFinite(value) && value > 0 && value <= 1 ? null : new FieldError(field, $"must be above 0 and at most 1, got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

    [GeneratedRegex("^[a-z0-9_-]+$")]
    private static partial Regex NamePattern();
}
