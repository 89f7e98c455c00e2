using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CxEngine.Silo.Hosting;

/// <summary>
/// Kestrel endpoints from URLs: gRPC on HTTP/2 (h2c, or TLS with the Kestrel certificate settings for
/// https URLs), REST/JSON on HTTP/1.1 and HTTP/2, the operator endpoint on HTTP/1.1 for Prometheus and browsers. Knows which addresses are
/// loopback, so the host can refuse to expose an engine without credentials.
/// </summary>
internal static class Endpoints
{
    public static void Listen(KestrelServerOptions kestrel, string url, HttpProtocols protocols, Listener listener)
    {
        var address = BindingAddress.Parse(url);
        void Configure(ListenOptions listen)
        {
            listen.Protocols = protocols;
            Listeners.Tag(listen, listener);
            if (address.Scheme == "https")
            {
                listen.UseHttps();
            }
        }

        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(address.Port, Configure);
        }
        else if (address.Host is "*" or "+" || address.Host == "0.0.0.0")
        {
            kestrel.ListenAnyIP(address.Port, Configure);
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port, Configure);
        }
        else
        {
            throw new InvalidOperationException($"cannot listen on '{url}': use an IP address, localhost or * as the host");
        }
    }

    public static bool IsLoopback(string url)
    {
        var host = BindingAddress.Parse(url).Host.Trim('[', ']');
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    /// <summary>Where this process reaches a listener of its own: the URL with a wildcard host made 127.0.0.1.</summary>
    public static string LoopbackOf(string url)
    {
        var address = BindingAddress.Parse(url);
        var host = address.Host is "*" or "+" or "0.0.0.0" or "[::]" ? "127.0.0.1" : address.Host;
        return $"{address.Scheme}://{host}:{address.Port}";
    }

    public static string[] Split(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
