using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Desk.Components;

/// <summary>A desk page: the person signed in, and the engine's services to call with their credential.</summary>
public abstract class DeskPage : ComponentBase
{
    [CascadingParameter]
    private Task<AuthenticationState>? Authentication { get; set; }

    [Inject]
    protected DeskOptions Options { get; set; } = null!;

    [Inject]
    protected EngineClient Engine { get; set; } = null!;

    /// <summary>Who is at the desk (the local operator in open mode).</summary>
    protected DeskUser User { get; private set; } = null!;

    protected override async Task OnInitializedAsync()
    {
        var state = Authentication is null ? null : await Authentication;
        User = DeskUser.From(state?.User ?? new System.Security.Claims.ClaimsPrincipal(), Options);
        await LoadAsync();
    }

    /// <summary>The page's first data, once the person is known.</summary>
    protected virtual Task LoadAsync() => Task.CompletedTask;

    /// <summary>A call's error in words for the page (the engine's own message: it names what was wrong).</summary>
    protected static string Describe(Exception error) => error switch
    {
        Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.PermissionDenied } => "Your key does not have the role this needs.",
        Grpc.Core.RpcException rpc => $"{rpc.Status.Detail} ({rpc.StatusCode})",
        _ => error.Message,
    };

    protected static string Time(Google.Protobuf.WellKnownTypes.Timestamp? at) =>
        at is null ? "" : at.ToDateTime().ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    protected static string Number(double value) => value.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A severity in words (never colour alone).</summary>
    protected static string Severity(V1.Severity severity) => severity switch
    {
        V1.Severity.High => "High",
        V1.Severity.Medium => "Medium",
        V1.Severity.Low => "Low",
        _ => "None",
    };

    protected static string Status(V1.ActionStatus status) => status switch
    {
        V1.ActionStatus.Open => "Open",
        V1.ActionStatus.Escalated => "Escalated",
        V1.ActionStatus.Acknowledged => "Acknowledged",
        V1.ActionStatus.Resolved => "Resolved",
        V1.ActionStatus.Recovered => "Recovered",
        _ => status.ToString(),
    };
}
