using Grpc.Net.Client;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Desk;

/// <summary>The engine's cx.v1 services as the desk calls them: one channel to the engine's own gRPC listener.</summary>
public sealed class EngineClient(DeskOptions options) : IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(options.EngineUrl);

    public V1.Scores.ScoresClient Scores => new(_channel);

    public V1.Recovery.RecoveryClient Recovery => new(_channel);

    public V1.Policies.PoliciesClient Policies => new(_channel);

    public void Dispose() => _channel.Dispose();
}
