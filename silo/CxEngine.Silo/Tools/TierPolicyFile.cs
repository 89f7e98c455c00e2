using Google.Protobuf;
using V1 = CxEngine.Contracts.V1;

namespace CxEngine.Silo.Tools;

/// <summary>A tier policy in a file, in proto3 JSON (as <c>ListTiers</c> prints it and <c>UpsertTier</c> takes it).</summary>
public static class TierPolicyFile
{
    /// <summary>Reads it, or throws <see cref="ArgumentException"/> naming <paramref name="option"/> and the file.</summary>
    public static async Task<V1.TierPolicy> ReadAsync(string path, string option)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException(
                $"{option}: {path}: no such file (a tier as the engine holds it: one of `curl -s localhost:8080/v1/tiers | jq '.tiers[] | select(.name==\"standard\")'`)");
        }

        try
        {
            return JsonParser.Default.Parse<V1.TierPolicy>(await File.ReadAllTextAsync(path));
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException)
        {
            throw new ArgumentException($"{option}: {path} is not a cx.v1.TierPolicy in proto3 JSON: {ex.Message}");
        }
    }
}
