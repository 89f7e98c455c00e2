using System.Globalization;
using System.Text;
using CxEngine.Silo.Grpc;
using CxEngine.Silo.Ingest;

namespace CxEngine.Silo.Services;

/// <summary>Opaque keyset page tokens and page sizes, checked the same way for every list RPC.</summary>
internal static class PageTokens
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    public static int PageSize(int requested) => requested switch
    {
        0 => DefaultPageSize,
        < 0 or > MaxPageSize => throw new RequestValidationException(new FieldError("page_size", $"must be between 1 and {MaxPageSize} (0 for {DefaultPageSize}), got {requested}")),
        _ => requested,
    };

    public static string Encode(params string[] parts) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', parts)));

    public static string[]? Decode(string token, int parts)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('\n');
            if (decoded.Length == parts)
            {
                return decoded;
            }
        }
        catch (FormatException)
        {
        }

        throw new RequestValidationException(new FieldError("page_token", "is not a token this RPC returned"));
    }

    public static long DecodeLong(string[] parts, int index) =>
        long.TryParse(parts[index], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new RequestValidationException(new FieldError("page_token", "is not a token this RPC returned"));

    public static double DecodeDouble(string[] parts, int index) =>
        double.TryParse(parts[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new RequestValidationException(new FieldError("page_token", "is not a token this RPC returned"));
}
