namespace EventGateway.Languages.Lua;

/// <summary>
/// Per-run limits of a Lua script: instructions executed (counted in steps of 1000), and memory the run may add to
/// its Lua state. Exceeding either is a <see cref="TransformException"/>.
/// </summary>
public sealed record LuaLimits(long Instructions = 10_000_000, long MemoryBytes = 32L * 1024 * 1024)
{
    public static readonly LuaLimits Default = new();
}
