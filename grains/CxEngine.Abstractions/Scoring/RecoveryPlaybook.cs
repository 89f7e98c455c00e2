namespace CxEngine.Scoring;

/// <summary>
/// What a recovery desk should do, by severity (SCORING.md "Default playbook"), and how much
/// compensation to suggest: none for low (an apology and a kept promise), up to the front-line
/// limit for medium, the tier cap for high. Above the front-line limit a senior must approve.
/// </summary>
public static class RecoveryPlaybook
{
    private static readonly string[] LowSteps =
    [
        "Contact the customer proactively with a sincere apology.",
        "Confirm the next promise and keep it.",
    ];

    private static readonly string[] MediumSteps =
    [
        "Have a human call the customer back (no phone-menu loop).",
        "Apologise sincerely.",
        "Fix the cause of the failure.",
        "Offer a remedy (discount, replacement or rain check) within the front-line limit.",
    ];

    private static readonly string[] HighSteps =
    [
        "Escalate to a senior owner or account manager.",
        "Apologise sincerely.",
        "Fix the cause of the failure.",
        "Offer compensation up to the tier cap; amounts above the front-line limit need approval.",
        "Follow up with the customer after the fix.",
    ];

    public static IReadOnlyList<string> StepsFor(Severity severity) => severity switch
    {
        Severity.High => HighSteps,
        Severity.Medium => MediumSteps,
        _ => LowSteps,
    };

    public static double SuggestedCompensation(Severity severity, TierPolicy policy) => severity switch
    {
        Severity.High => policy.CompensationCap,
        Severity.Medium => policy.FrontLineCompensationLimit,
        _ => 0,
    };

    public static bool RequiresApproval(double compensation, TierPolicy policy) => compensation > policy.FrontLineCompensationLimit;
}
