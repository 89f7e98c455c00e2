using CxEngine.Calibration;
using CxEngine.Silo.Tools;
using CxEngine.Silo.Services;
using Google.Protobuf;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Calibration;

/// <summary>The <c>calibrate</c> verb end to end, on files it is given, as an operator runs it.</summary>
[Collection(CalibrationFits.Name)]
public sealed class CalibrateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cx-calibrate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CalibrateCommand.RunAsync(args, output, error, SyntheticHistory.Clock);
        return (code, output.ToString(), error.ToString());
    }

    private void WriteHistory(int customers)
    {
        var (events, outcomes) = SyntheticHistory.Generate(customers, seed: 9, SyntheticHistory.Truth);
        File.WriteAllLines(PathOf("events.jsonl"), events.Select(e => JsonFormatter.Default.Format(e)));
        // Labels in every accepted spelling.
        string[] yes = ["1", "true", "yes"], no = ["0", "FALSE", "no"];
        File.WriteAllLines(PathOf("outcomes.csv"), ["customer_id,time,label", .. outcomes.Select((o, i) => $"{o.CustomerId},{o.Time:yyyy-MM-ddTHH:mm:ssZ},{(o.Label ? yes : no)[i % 3]}")]);
    }

    [Fact]
    public async Task Calibrate_OnAGeneratedHistory_PrintsTheTable_WritesATierUpsertTierAccepts_AndAPng()
    {
        WriteHistory(400);

        var (code, output, error) = await Run(
            "--events", PathOf("events.jsonl"), "--outcomes", PathOf("outcomes.csv"), "--tier", "premium",
            "--split-at", "2025-09-01", "--budget", "60", "--out", PathOf("fitted.json"), "--plot", PathOf("deciles.png"));

        Assert.True(code == 0, error);
        Assert.Contains("| fitted premium policy (S) |", output);
        Assert.Contains("| days late |", output);
        Assert.Contains("split at 2025-09-01T00:00:00Z", output);
        var tier = JsonParser.Default.Parse<V1.TierPolicy>(File.ReadAllText(PathOf("fitted.json")));
        Assert.Equal("premium", tier.Name);
        var policy = ContractMapper.FromTier(tier);
        Assert.Null(policy.Validate());
        Assert.True(ParameterSpace.IsInside(policy));
        Assert.Equal(CxEngine.Scoring.TierPolicy.Premium.Baseline, policy.Baseline);
        Assert.True(tier.HasPromiseToleranceFraction && tier.HasLearningRate && tier.HasGainSensitivity);
        var png = File.ReadAllBytes(PathOf("deciles.png"));
        Assert.True(png.Length > 1000);
        Assert.Equal(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }, png[..8]);
    }

    [Fact]
    public async Task Calibrate_FromATierTheEngineHolds_KeepsItsNameAndEverySettingItDoesNotSearch()
    {
        WriteHistory(200);
        var gold = CxEngine.Scoring.TierPolicy.Standard with { Name = "gold", Baseline = 60, ReopenWindowDays = 3, WaitTargetSeconds = 45 };
        File.WriteAllText(PathOf("gold.json"), JsonFormatter.Default.Format(ContractMapper.ToTier(gold)));

        var (code, output, error) = await Run("--events", PathOf("events.jsonl"), "--from", PathOf("gold.json"), "--budget", "30", "--out", PathOf("fitted.json"));

        Assert.True(code == 0, error);
        Assert.Contains("| fitted gold policy (S) |", output);
        var fitted = ContractMapper.FromTier(JsonParser.Default.Parse<V1.TierPolicy>(File.ReadAllText(PathOf("fitted.json"))));
        Assert.Equal(gold with
        {
            GainSensitivity = fitted.GainSensitivity,
            LossAversion = fitted.LossAversion,
            LearningRate = fitted.LearningRate,
            ExpectationRiseRate = fitted.ExpectationRiseRate,
            ExpectationFallRate = fitted.ExpectationFallRate,
            PromiseToleranceFraction = fitted.PromiseToleranceFraction,
            GoodMemoryHalfLifeDays = fitted.GoodMemoryHalfLifeDays,
            BadMemoryHalfLifeDays = fitted.BadMemoryHalfLifeDays,
            PromiseOverduePerformance = fitted.PromiseOverduePerformance,
            // Contacts carry effort and resolution together: resolution is searched against effort, the anchor.
            ResolutionWeight = fitted.ResolutionWeight,
        }, fitted);
        Assert.Contains("resolution_weight searched", output);
        Assert.Contains("effort_weight: left at the basis value (anchor of effort + resolution", output);
        Assert.Contains("csat_weight, promise_weight, conduct_weight, complaint_weight, wait_weight, sentiment_weight: left at the basis value (never in an event with another weighted signal", output);
    }

    [Theory]
    [InlineData("none", 0)]
    [InlineData("all", 7)]
    public async Task Calibrate_WeightsOption_SearchesTheWeightsItNames_AndKeepsTheOthersAtTheBasisValue(string mode, int searched)
    {
        WriteHistory(150);

        var (code, output, error) = await Run("--events", PathOf("events.jsonl"), "--weights", mode, "--budget", "20", "--out", PathOf("fitted.json"));

        Assert.True(code == 0, error);
        Assert.Contains($"signal weights (--weights {mode}): ", output);
        var fitted = ContractMapper.FromTier(JsonParser.Default.Parse<V1.TierPolicy>(File.ReadAllText(PathOf("fitted.json"))));
        var basis = CxEngine.Scoring.TierPolicy.Standard;
        Assert.Equal(searched, System.Text.RegularExpressions.Regex.Count(output, ": searched from 0 to "));
        Assert.Equal(basis.CsatWeight, fitted.CsatWeight);
        if (mode == "none")
        {
            Assert.Contains("none searched", output);
            Assert.All(SignalWeight.All, w => Assert.Equal(w.Get(basis), w.Get(fitted)));
        }
    }

    [Fact]
    public async Task Calibrate_AnEventTheEngineRejects_IsLeftOutAsTheEngineWould_NamingTheLineAndTheField()
    {
        WriteHistory(300);
        var lines = File.ReadAllLines(PathOf("events.jsonl")).ToList();
        lines.Insert(2, """{"eventId":"x","customerId":"cust-00000","occurredAt":"2025-02-01T00:00:00Z","kind":"EVENT_KIND_SURVEY","signals":{"csat":9}}""");
        File.WriteAllLines(PathOf("events.jsonl"), lines);

        var (code, output, error) = await Run("--events", PathOf("events.jsonl"), "--budget", "20", "--out", PathOf("fitted.json"));

        Assert.True(code == 0, error);
        Assert.Contains("1 events left out (a line that is not an event, or an event the engine's validation rejects)", output);
        Assert.Contains("events.jsonl:3: signals.csat: must be between 1 and 5", output);
        Assert.Contains($"{lines.Count - 1} events", output);
    }

    [Fact]
    public async Task Calibrate_ALineThatIsNotAnEvent_IsReportedByNumberAndLeftOut_AsImportDoes()
    {
        WriteHistory(60);
        var lines = File.ReadAllLines(PathOf("events.jsonl")).ToList();
        lines.Insert(2, """{"eventId":"x","customerId":"c","signals":{"csat":"many"}}""");
        lines.Insert(4, "true");
        File.WriteAllLines(PathOf("events.jsonl"), lines);

        var (code, output, error) = await Run("--events", PathOf("events.jsonl"), "--budget", "10", "--out", PathOf("fitted.json"));

        Assert.True(code == 0, error);
        Assert.True(output.Contains("2 events left out"), output);
        Assert.Contains("events.jsonl:3: not a cx.v1 InteractionEvent in proto3 JSON", output);
        Assert.True(output.Contains("events.jsonl:5: not a JSON object (expected one cx.v1 InteractionEvent in proto3 JSON a line"), output);
        Assert.Contains($"{lines.Count - 2} events", output);
        Assert.True(File.Exists(PathOf("fitted.json")));
    }

    [Theory]
    [InlineData("label\n", "the header has no column 'customer_id'")]
    [InlineData("customer_id,time,label\ncust-00001,yesterday,1\n", "outcomes.csv:2: time: not an ISO 8601 instant")]
    [InlineData("customer_id,time,label\ncust-00001,2025-05-01T00:00:00Z,maybe\n", "outcomes.csv:2: label: must be 1, 0, true, false, yes or no")]
    public async Task Calibrate_ABadOutcomeRow_StopsNamingTheLineAndTheColumn(string csv, string expected)
    {
        WriteHistory(5);
        File.WriteAllText(PathOf("outcomes.csv"), csv);

        var (code, _, error) = await Run("--events", PathOf("events.jsonl"), "--outcomes", PathOf("outcomes.csv"), "--out", PathOf("fitted.json"));

        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.False(File.Exists(PathOf("fitted.json")));
    }

    [Theory]
    [InlineData(new[] { "--out", "x.json" }, "--events or --olist: exactly one is required")]
    [InlineData(new[] { "--events", "e.jsonl" }, "--out: required")]
    [InlineData(new[] { "--events", "e.jsonl", "--out", "x.json", "--tier", "gold" }, "--tier: unknown tier 'gold'")]
    [InlineData(new[] { "--events", "e.jsonl", "--out", "x.json", "--split", "1.5" }, "--split: must lie strictly between 0 and 1")]
    [InlineData(new[] { "--events", "e.jsonl", "--out", "x.json", "--split", "0.5", "--split-at", "2025-01-01" }, "--split and --split-at: give one of them")]
    [InlineData(new[] { "--events", "e.jsonl", "--out", "x.json", "--budget", "3" }, "--budget: must be at least 10")]
    [InlineData(new[] { "--events", "e.jsonl", "--frobnicate", "1" }, "unknown argument '--frobnicate'")]
    [InlineData(new[] { "--events", "e.jsonl", "--out", "x.json", "--tier", "basic", "--from", "t.json" }, "--from and --tier: give one of them")]
    [InlineData(new[] { "--events", "e.jsonl", "--out", "x.json", "--fit-on", "vibes" }, "--fit-on: one of all, surveys, outcomes")]
    [InlineData(new[] { "--events", "e.jsonl", "--out", "x.json", "--weights", "some" }, "--weights: one of auto, all, none; got 'some'")]
    [InlineData(new[] { "--events", "e.jsonl", "--out", "x.json", "--weights" }, "--weights: needs a value")]
    public async Task Calibrate_BadArguments_AreNamed(string[] args, string expected)
    {
        var (code, _, error) = await Run(args);

        Assert.Equal(2, code);
        Assert.Contains(expected, error);
    }
}
