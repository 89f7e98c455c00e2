using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Health.V1;
using Grpc.Net.Client;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Tests.Durability;

/// <summary>
/// The engine as its own operating-system process (the built CxEngine.Silo), so a test can kill it
/// with SIGKILL exactly as a crash would. Output goes to a log the failure message points at.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private SiloProcess(Process process, string url, string name)
    {
        _process = process;
        Url = url;
        Name = name;
        Channel = GrpcChannel.ForAddress(url);
        Ingest = new V1.Ingest.IngestClient(Channel);
        Scores = new V1.Scores.ScoresClient(Channel);
        Recovery = new V1.Recovery.RecoveryClient(Channel);
    }

    public V1.Recovery.RecoveryClient Recovery { get; }

    public string Name { get; }

    public string Url { get; }

    public GrpcChannel Channel { get; }

    public V1.Ingest.IngestClient Ingest { get; }

    public V1.Scores.ScoresClient Scores { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts a silo with the given settings (as --Key=Value arguments) on fresh loopback ports.</summary>
    public static async Task<SiloProcess> StartAsync(string name, IReadOnlyDictionary<string, string> settings, int? siloPort = null)
    {
        var url = $"http://127.0.0.1:{Ports.Free()}";
        var args = new List<string>
        {
            $"--urls={url}",
            $"--CxEngine:Cluster:SiloPort={siloPort ?? Ports.Free()}",
            $"--CxEngine:Cluster:GatewayPort={Ports.Free()}",
            $"--CxEngine:Operator:Url=http://127.0.0.1:{Ports.Free()}",
            $"--CxEngine:Http:Url=http://127.0.0.1:{Ports.Free()}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Orleans.Runtime.Silo=Information",
        };
        args.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));

        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "CxEngine.Silo"), args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.Environment["DOTNET_gcServer"] = "0"; // three silos and the test share two cores
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start CxEngine.Silo");
        var silo = new SiloProcess(process, url, name);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await silo.WaitUntilServingAsync(TimeSpan.FromSeconds(60));
        return silo;
    }

    public async Task WaitUntilServingAsync(TimeSpan timeout)
    {
        var health = new Health.HealthClient(Channel);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"silo {Name} exited with {_process.ExitCode} while starting:\n{Log}");
            }

            try
            {
                var response = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (response.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"silo {Name} did not report SERVING within {timeout.TotalSeconds} s:\n{Log}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: no shutdown, no flush, no goodbye to the cluster.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

}
