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
    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int Free()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
