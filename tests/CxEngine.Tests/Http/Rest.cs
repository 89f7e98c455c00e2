using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CxEngine.Tests.Service;
using Google.Protobuf;

namespace CxEngine.Tests.Http;

/// <summary>
/// A plain HTTP/1.1 client for the REST listener, as any HTTP stack would use it, and proto3 JSON both ways
/// (Google.Protobuf's own formatter and parser, so the wire format is checked against the proto, not against us).
/// </summary>
internal static class Rest
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static HttpClient Client(EngineHost engine, string? apiKey = null, string? bearer = null)
    {
        var client = new HttpClient
        {
            BaseAddress = new Uri(engine.HttpUrl),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(60),
        };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("x-api-key", apiKey);
        }

        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    public static StringContent Json(IMessage message) => Json(JsonFormatter.Default.Format(message));

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
        where T : IMessage, new()
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        Assert.Equal(HttpVersion.Version11, response.Version);
        return Parse<T>(body);
    }

    public static T Parse<T>(string json)
        where T : IMessage, new() => (T)Parser.Parse(json, new T().Descriptor);

    /// <summary>The error body: a google.rpc.Status; returns the field its BadRequest names (or null) and the message.</summary>
    public static async Task<(int Code, string Message, string? Field)> ErrorAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var status = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(
            Google.Protobuf.Reflection.TypeRegistry.FromMessages(Google.Rpc.BadRequest.Descriptor))).Parse<Google.Rpc.Status>(body);
        var field = status.Details.Select(d => d.TryUnpack<Google.Rpc.BadRequest>(out var bad) ? bad : null)
            .FirstOrDefault(b => b is not null)?.FieldViolations.Single().Field;
        return (status.Code, status.Message, field);
    }

    /// <summary>Reads a newline-delimited JSON stream line by line as it arrives.</summary>
    public static async IAsyncEnumerable<T> ReadLinesAsync<T>(HttpResponseMessage response, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : IMessage, new()
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                yield return Parse<T>(line);
            }
        }
    }
}
