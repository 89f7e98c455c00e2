namespace CxEngine.Tests;

/// <summary>Throwaway directories for the SQLite databases of tests, removed when disposed.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string purpose)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cxengine-tests", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a stopping host: the OS temp cleaner takes it.
        }
    }
}

internal static class Ids
{
    public static string Customer(string prefix = "c") => $"{prefix}-{Guid.NewGuid():N}";

    public static string Event() => $"e-{Guid.NewGuid():N}";
}

internal static class Ports
{
    // Below the kernel's ephemeral range (32768-60999 here): a port the OS hands out for outgoing connections
    // (gRPC clients, PostgreSQL) could otherwise be taken between choosing it and the server binding it.
    private const int First = 20_000;
    private const int Count = 12_000;
    private static int s_next = Random.Shared.Next(Count);

    /// <summary>A loopback port nobody listens on right now, outside the range the OS gives outgoing sockets.</summary>
    public static int Free()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = First + (Interlocked.Increment(ref s_next) % Count);
            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException) when (attempt < Count)
            {
                // In use: try the next one.
            }
        }
    }
}
