using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;

namespace CxEngine.Silo.Hosting;

/// <summary>
/// REST request bodies checked before gRPC JSON transcoding reads them, so that a client's mistake is answered in its
/// own words: JSON transcoding answers every one of them "Request JSON payload is not correctly formatted" (and logs a
/// stack trace per request). Here a body over the limit is 413 naming the limit; JSON that does not parse is 400 naming
/// the line and byte position (invalid UTF-8 and nesting deeper than 64 included); a field the message does not have,
/// or a value of the wrong type, is 400 naming the field's path, as gRPC's answers name it. Unknown fields are refused,
/// as proto3 JSON parsers do by default: a misspelt field silently ignored would be a signal silently lost. Each
/// refusal is logged in one line. Bodies that pass go on to transcoding unchanged.
/// </summary>
public static partial class RestBodies
{
    private const int MaxDepth = 64;

    public static Func<HttpContext, RequestDelegate, Task> Check(int maxRequestBytes, ILogger logger) => async (context, next) =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not { } rest
            || string.IsNullOrEmpty(rest.HttpRule.Body)
            || BodyType(rest) is not { } bodyType)
        {
            await next(context);
            return;
        }

        if (context.Request.ContentLength > maxRequestBytes)
        {
            await RefuseAsync(context, logger, StatusCodes.Status413PayloadTooLarge, 8, "",
                $"the request body ({context.Request.ContentLength} bytes) is larger than the limit of {maxRequestBytes} bytes (CxEngine:Limits:MaxMessageBytes)");
            return;
        }

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await RefuseAsync(context, logger, StatusCodes.Status413PayloadTooLarge, 8, "",
                $"the request body is larger than the limit of {maxRequestBytes} bytes (CxEngine:Limits:MaxMessageBytes)");
            return;
        }

        if (Problem(body, bodyType, rest.HttpRule.Body) is { } problem)
        {
            await RefuseAsync(context, logger, StatusCodes.Status400BadRequest, 3, problem.Field, problem.Description);
            return;
        }

        context.Request.Body = new MemoryStream(body, writable: false);
        await next(context);
    };

    /// <summary>The message the body holds: the request itself (<c>body: "*"</c>) or the message field the rule names.</summary>
    private static MessageDescriptor? BodyType(GrpcJsonTranscodingMetadata rest) =>
        rest.HttpRule.Body == "*" ? rest.MethodDescriptor.InputType : rest.MethodDescriptor.InputType.FindFieldByName(rest.HttpRule.Body)?.MessageType;

    /// <summary>What is wrong with the body, naming the field (a JSON path) or the position; null when nothing is.</summary>
    internal static (string Field, string Description)? Problem(byte[] body, MessageDescriptor type, string bodyField)
    {
        var prefix = bodyField == "*" ? "" : bodyField + ".";
        if (System.Text.Unicode.Utf8.ToUtf16(body, new char[body.Length], out var valid, out _, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
        {
            return ("", $"the request body is not valid UTF-8 at byte {valid + 1} (JSON is UTF-8 text)");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException ex)
        {
            // Its message ends with "LineNumber: n | BytePositionInLine: m." (0-based): said the way people count.
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : "";
            return ("", $"the request body is not valid JSON{where}: {FirstSentence(ex.Message)}");
        }

        using (document)
        {
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? CheckMessage(document.RootElement, type, prefix.TrimEnd('.'))
                : (bodyField == "*" ? "" : bodyField, $"expected a JSON object ({type.Name}), got {Describe(document.RootElement)}");
        }
    }

    private static (string, string)? CheckMessage(JsonElement json, MessageDescriptor type, string path)
    {
        foreach (var property in json.EnumerateObject())
        {
            var field = type.Fields.InFieldNumberOrder().FirstOrDefault(f => f.JsonName == property.Name || f.Name == property.Name);
            var fieldPath = path.Length == 0 ? ProtoName(property.Name, field) : $"{path}.{ProtoName(property.Name, field)}";
            if (field is null)
            {
                return (fieldPath, $"{type.Name} has no field '{property.Name}' (fields: {string.Join(", ", type.Fields.InFieldNumberOrder().Select(f => f.JsonName))})");
            }

            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (field.IsRepeated)
            {
                if (property.Value.ValueKind != JsonValueKind.Array)
                {
                    return (fieldPath, $"expected a JSON array, got {Describe(property.Value)}");
                }

                var i = 0;
                foreach (var item in property.Value.EnumerateArray())
                {
                    if (CheckValue(item, field, $"{fieldPath}[{i++}]") is { } bad)
                    {
                        return bad;
                    }
                }

                continue;
            }

            if (CheckValue(property.Value, field, fieldPath) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    private static (string, string)? CheckValue(JsonElement value, FieldDescriptor field, string path)
    {
        switch (field.FieldType)
        {
            case FieldType.Message when field.MessageType.FullName == Timestamp.Descriptor.FullName:
                if (value.ValueKind != JsonValueKind.String || !TryTimestamp(value.GetString()!))
                {
                    return (path, $"expected a time in RFC 3339 (e.g. \"2026-03-01T09:00:00Z\"), got {Describe(value)}");
                }

                return null;
            case FieldType.Message when field.MessageType.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal):
                return null; // other well-known types have JSON forms of their own; transcoding judges them
            case FieldType.Message:
                return value.ValueKind == JsonValueKind.Object
                    ? CheckMessage(value, field.MessageType, path)
                    : (path, $"expected a JSON object ({field.MessageType.Name}), got {Describe(value)}");
            case FieldType.Bool:
                return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : (path, $"expected true or false, got {Describe(value)}");
            case FieldType.String:
                return value.ValueKind == JsonValueKind.String ? null : (path, $"expected a string, got {Describe(value)}");
            case FieldType.Bytes:
                return value.ValueKind == JsonValueKind.String ? null : (path, $"expected base64 in a string, got {Describe(value)}");
            case FieldType.Enum:
                if (value.ValueKind == JsonValueKind.Number || (value.ValueKind == JsonValueKind.String && field.EnumType.FindValueByName(value.GetString()!) is not null))
                {
                    return null;
                }

                return (path, $"expected one of {string.Join(", ", field.EnumType.Values.Select(v => v.Name))}, got {Describe(value)}");
            case FieldType.Double or FieldType.Float:
                return value.ValueKind == JsonValueKind.Number
                    || (value.ValueKind == JsonValueKind.String && (double.TryParse(value.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _) || value.GetString() is "NaN" or "Infinity" or "-Infinity"))
                    ? null
                    : (path, $"expected a number, got {Describe(value)}");
            default: // the integer types: a JSON number without a fraction, or one in a string (proto3 JSON's 64-bit form)
                var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.ValueKind == JsonValueKind.Number ? value.GetRawText() : null;
                return text is not null && long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _)
                    ? null
                    : (path, $"expected a whole number, got {Describe(value)}");
        }
    }

    private static bool TryTimestamp(string text)
    {
        try
        {
            JsonParser.Default.Parse<Timestamp>(JsonSerializer.Serialize(text));
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    private static string Describe(JsonElement value)
    {
        var raw = value.GetRawText();
        return value.ValueKind switch
        {
            JsonValueKind.String => $"the string {(raw.Length > 60 ? raw[..57] + "...\"" : raw)}",
            JsonValueKind.Number => $"the number {raw}",
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            _ => raw,
        };
    }

    /// <summary>The field's name as gRPC's answers give it (proto names, snake_case).</summary>
    private static string ProtoName(string jsonName, FieldDescriptor? field) => field?.Name ?? jsonName;

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).Trim();
    }

    private static async Task RefuseAsync(HttpContext context, ILogger logger, int status, int code, string field, string description)
    {
        LogRefused(logger, context.Request.Method, context.Request.Path, status, description);
        var message = field.Length == 0 ? description : $"{field}: {description}";
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        if (context.Request.ContentLength is > 0 && status == StatusCodes.Status413PayloadTooLarge)
        {
            // The body is not read: the client learns at once, and the connection closes after the answer.
            context.Response.Headers.Connection = "close";
        }

        await using var json = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteNumber("code", code);
        json.WriteString("message", message);
        json.WriteStartArray("details");
        if (field.Length > 0)
        {
            json.WriteStartObject();
            json.WriteString("@type", "type.googleapis.com/google.rpc.BadRequest");
            json.WriteStartArray("fieldViolations");
            json.WriteStartObject();
            json.WriteString("field", field);
            json.WriteString("description", description);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "REST {Method} {Path} refused with {Status}: {Problem}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string problem);
}
