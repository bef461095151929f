using System.Reflection;
using System.Runtime.InteropServices;

namespace EventGateway.Events.Kafka;

/// <summary>
/// Binds Confluent.Kafka's managed assembly to the distribution's librdkafka (the package mirror
/// has no librdkafka.redist). Confluent.Kafka 1.x loads the library through <c>dlopen</c> from
/// "libdl", which modern glibc ships only as libdl.so.2, and binds its P/Invokes to "librdkafka",
/// a name only the development package would provide.
/// </summary>
public static class KafkaNative
{
    public const string LibraryName = "librdkafka.so.1";

    private static readonly Lock Gate = new();
    private static bool _loaded;

    /// <summary>Idempotent; safe from any thread. Throws with the reason when the library cannot be loaded.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            var confluent = typeof(Confluent.Kafka.Library).Assembly;
            try
            {
                NativeLibrary.SetDllImportResolver(confluent, Resolve);
            }
            catch (InvalidOperationException)
            {
                // Someone else installed a resolver for the assembly already; theirs stands.
            }
            try
            {
                Confluent.Kafka.Library.Load(LibraryName);
            }
            catch (Exception e) when (e is DllNotFoundException or InvalidOperationException or EntryPointNotFoundException)
            {
                throw new InvalidOperationException($"kafka: cannot load {LibraryName} (install the librdkafka1 package): {e.Message}", e);
            }
            _loaded = true;
        }
    }

    /// <summary>
    /// "libdl" is libdl.so.2; every librdkafka name Confluent's bindings try ("librdkafka",
    /// "centos7-librdkafka.so", ...) is the distribution's library, since no other is shipped.
    /// </summary>
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) => name switch
    {
        "libdl" => NativeLibrary.TryLoad("libdl.so.2", out var dl) ? dl : IntPtr.Zero,
        _ when name.Contains("librdkafka", StringComparison.Ordinal) => NativeLibrary.TryLoad(LibraryName, out var rd) ? rd : IntPtr.Zero,
        _ => IntPtr.Zero,
    };
}
