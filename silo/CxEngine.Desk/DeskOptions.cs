namespace CxEngine.Desk;

/// <summary>What the host tells the desk about itself.</summary>
public sealed class DeskOptions
{
    /// <summary>The engine's own gRPC address (loopback): the desk calls the cx.v1 services there, as any client would.</summary>
    public required string EngineUrl { get; init; }

    /// <summary>No credentials are configured: everyone at the desk is the local operator (the engine is on loopback only).</summary>
    public bool Open { get; init; }

    /// <summary>The engine's authentication scheme for API keys and bearer tokens: a sign-in is checked by it, as a call would be.</summary>
    public required string CredentialScheme { get; init; }
}
