using System.Text.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Store;

/// <summary>How every resource store names, keys and encodes a resource (SQLite and PostgreSQL alike), so both stores
/// hand out the same generated names and read each other's bodies (<c>egw store copy</c>).</summary>
public static class StoredResources
{
    /// <summary>The five characters <c>generateName</c> gets, from Kubernetes' alphabet (no vowels, no look-alikes).</summary>
    public static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        });
    }

    public static string KindOf<T>() where T : Resource => KindCache<T>.Kind;

    /// <summary>The namespace a resource is keyed by: none for cluster-scoped kinds, whatever the manifest said.</summary>
    public static string Ns(string kind, string ns) => Resources.IsClusterScoped(kind) ? "" : ns;

    public static string Serialize(Resource r) => JsonSerializer.Serialize(r, r.GetType(), Json.Options);

    public static T Deserialize<T>(string body) => JsonSerializer.Deserialize<T>(body, Json.Lenient)!;

    private static class KindCache<T>
    {
        public static readonly string Kind = Resources.Kinds.First(k => k.Value.Type == typeof(T)).Key;
    }
}
