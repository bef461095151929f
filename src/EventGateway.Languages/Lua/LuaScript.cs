using System.Collections.Concurrent;
using System.Text.Json;
using static EventGateway.Languages.Lua.LuaNative;

namespace EventGateway.Languages.Lua;

/// <summary>
/// Runs Argo Events' Lua scripts (<c>transform.script</c> and <c>filters.script</c>) in a sandbox: the event data
/// is the global <c>event</c>; only the base, string, table, math, utf8 and coroutine libraries are there (no os,
/// io, package/require, debug, load, loadfile, dofile, collectgarbage, string.dump; <c>print</c> does nothing);
/// each run has an instruction budget and a memory bound (<see cref="LuaLimits"/>).
/// </summary>
/// <remarks>
/// Lua states are pooled rather than created per call: a state with its libraries and prelude costs far more to
/// build than a run (about 1 ms against tens of microseconds), and reuse is safe because nothing a script can
/// reach survives its run. Each run gets fresh globals with private copies of the library tables it uses, runs in
/// its own coroutine, and can set no metatable holding functions (so no finalizer or callback outlives or escapes
/// the budget); the shared string metatable is hidden from <c>getmetatable</c> and indexes a library table no
/// script can reach. A state serves one run at a time; at most one state per processor is kept.
/// Known limit: the budget is checked between Lua instructions, so one C call that backtracks for long (a
/// pathological string.find/match/gsub pattern on a long string) is not interrupted; gopher-lua in Argo is alike.
/// </remarks>
public static class LuaScript
{
    private static readonly ConcurrentBag<LuaSandbox> Pool = [];
    private static readonly int MaxPooled = Environment.ProcessorCount;

    /// <summary>Compiles without running (<c>luaL_loadstring</c>): the Lua syntax error, e.g. <c>script:1: 'then' expected near 'return'</c>, or null.</summary>
    public static string? SyntaxError(string script)
    {
        ArgumentNullException.ThrowIfNull(script);
        try
        {
            return Use(sandbox => sandbox.SyntaxError(script));
        }
        catch (TransformException e)
        {
            return e.Message;
        }
    }

    /// <summary>Argo's transform: the script must return a table, which becomes the new event data (JSON bytes).</summary>
    /// <exception cref="TransformException">A syntax or runtime error, an exceeded budget, or a result that is not a table.</exception>
    public static byte[] Transform(string script, JsonElement data, LuaLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(script);
        return Use(sandbox => sandbox.Run(script, data, limits ?? LuaLimits.Default, (thread, results) =>
        {
            // Argo reads the top of the stack: with several return values, the last one.
            var type = results == 0 ? -1 : lua_type(thread, -1);
            if (type != TypeTable)
            {
                throw new TransformException($"script must return a table (the new event data), but it returned {(results == 0 ? "nothing" : "a " + TypeName(type))}");
            }

            return LuaJson.ToJson(thread, -1, "result");
        }));
    }

    /// <summary>
    /// Argo's script filter: the event passes only when the script returns <c>true</c>. Like Argo, any other
    /// result (false, nil, a string, nothing) means "no match", not an error; the reason (e.g. "returned a nil, not a
    /// boolean") says which it was.
    /// </summary>
    /// <exception cref="TransformException">A syntax or runtime error, or an exceeded budget: a filter error.</exception>
    public static (bool Passed, string? Reason) Filter(string script, JsonElement data, LuaLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(script);
        return Use(sandbox => sandbox.Run(script, data, limits ?? LuaLimits.Default, (thread, results) =>
        {
            var type = results == 0 ? -1 : lua_type(thread, -1);
            if (type == TypeBoolean && lua_toboolean(thread, -1) != 0)
            {
                return (true, (string?)null);
            }

            return (false, type == TypeBoolean
                ? "returned false"
                : $"returned {(results == 0 ? "nothing" : "a " + TypeName(type))}, not a boolean");
        }));
    }

    private static LuaSandbox Create()
    {
        try
        {
            return new LuaSandbox();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new TransformException($"the Lua runtime (liblua54 from the KeraLua package) cannot be loaded: {e.Message}", e);
        }
    }

    private static T Use<T>(Func<LuaSandbox, T> work)
    {
        var sandbox = Pool.TryTake(out var pooled) ? pooled : Create();
        var reusable = false;
        try
        {
            var result = work(sandbox);
            reusable = true;
            return result;
        }
        catch (TransformException)
        {
            reusable = true;
            throw;
        }
        finally
        {
            if (reusable && Pool.Count < MaxPooled)
            {
                Pool.Add(sandbox);
            }
            else
            {
                sandbox.Dispose();
            }
        }
    }
}
