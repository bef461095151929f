using System.Runtime.InteropServices;
using System.Text;
using static EventGateway.Languages.Lua.LuaNative;

namespace EventGateway.Languages.Lua;

/// <summary>
/// One Lua state, used by one evaluation at a time and reused across evaluations (see <see cref="LuaScript"/>).
/// Each run gets fresh globals from the prelude and its own coroutine; the state keeps only the trusted prelude,
/// compiled chunks, and garbage. A count hook yields the run's coroutine once the instruction budget is spent; a
/// custom allocator refuses allocations past the memory limit while a script runs (Lua turns that into a
/// "not enough memory" error). Neither callback raises a Lua error, so no longjmp crosses managed frames.
/// </summary>
internal sealed unsafe class LuaSandbox : IDisposable
{
    /// <summary>Instructions between two hook calls: the granularity of the budget.</summary>
    private const int HookInterval = 1000;

    /// <summary>Compiled scripts kept per state; past this the cache starts over.</summary>
    private const int MaxChunks = 64;

    /// <summary>Registry key of the metatable that marks tables made from JSON arrays.</summary>
    public const string ArrayMarker = "egw.array";

    private const string NewEnvironment = "egw.new_env";

    private readonly StateHandle state;
    private readonly nint l;
    private readonly Dictionary<string, int> chunks = new(StringComparer.Ordinal);

    public LuaSandbox()
    {
        var budget = (Budget*)NativeMemory.AllocZeroed((nuint)sizeof(Budget));
        var handle = lua_newstate(&Allocate, budget);
        if (handle == 0)
        {
            NativeMemory.Free(budget);
            throw new InvalidOperationException("cannot create a Lua state");
        }

        state = new StateHandle(handle, budget);
        l = handle;
        foreach (var (name, open) in new[] { ("_G", "base"), ("string", "string"), ("table", "table"), ("math", "math"), ("utf8", "utf8"), ("coroutine", "coroutine") })
        {
            luaL_requiref(l, name, OpenFunction(open), 1);
            Pop(l, 1);
        }

        Load(LuaPrelude.Source, "=prelude", out var error);
        if (error is not null || lua_pcallk(l, 0, 2, 0, 0, 0) != Ok)
        {
            var reason = error ?? ReadString(l, -1);
            state.Dispose();
            throw new InvalidOperationException($"the Lua prelude failed: {reason}");
        }

        lua_setfield(l, RegistryIndex, ArrayMarker);
        lua_setfield(l, RegistryIndex, NewEnvironment);
    }

    private Budget* Limits => state.Limits;

    /// <summary>Compiles without running; the Lua syntax error, or null.</summary>
    public string? SyntaxError(string script)
    {
        var top = lua_gettop(l);
        try
        {
            return PushChunk(script);
        }
        finally
        {
            lua_settop(l, top);
        }
    }

    /// <summary>
    /// Runs <paramref name="script"/> with <paramref name="data"/> as the global <c>event</c> and hands its
    /// results to <paramref name="read"/> (the coroutine, and how many values it returned on its stack).
    /// </summary>
    public T Run<T>(string script, System.Text.Json.JsonElement data, LuaLimits limits, Func<nint, int, T> read)
    {
        var top = lua_gettop(l);
        try
        {
            if (PushChunk(script) is { } syntax)
            {
                throw new TransformException($"cannot compile Lua script: {syntax}");
            }

            var chunk = lua_gettop(l);
            lua_getfield(l, RegistryIndex, NewEnvironment);
            if (lua_pcallk(l, 0, 1, 0, 0, 0) != Ok)
            {
                throw new InvalidOperationException($"building the Lua environment failed: {ReadString(l, -1)}");
            }

            LuaJson.Push(l, data, 0);
            lua_setfield(l, -2, "event");
            lua_setupvalue(l, chunk, 1);

            var thread = lua_newthread(l);
            lua_pushvalue(l, chunk);
            lua_xmove(l, thread, 1);
            lua_sethook(thread, &Hook, MaskCount, HookInterval);

            var b = Limits;
            b->Instructions = 0;
            b->InstructionLimit = limits.Instructions;
            b->Exhausted = 0;
            b->MemoryLimit = b->Used + limits.MemoryBytes;
            b->Enforce = 1;
            int status, results;
            try
            {
                status = lua_resume(thread, l, 0, &results);
            }
            finally
            {
                b->Enforce = 0;
            }

            if (b->Exhausted != 0)
            {
                throw new TransformException($"script exceeded its instruction budget ({limits.Instructions} instructions)");
            }

            return status switch
            {
                Ok => read(thread, results),
                Yield => throw new TransformException("script yielded outside a coroutine"),
                ErrorMemory => throw new TransformException($"script exceeded its memory limit ({limits.MemoryBytes / (1024 * 1024)} MiB)"),
                _ => throw new TransformException(ErrorText(thread)),
            };
        }
        finally
        {
            // The cached chunk must not keep this run's globals (and the event) alive until the next run.
            if (lua_gettop(l) > top)
            {
                lua_pushnil(l);
                lua_setupvalue(l, top + 1, 1);
            }

            lua_settop(l, top);
            if (lua_gc(l, GcCount) > 4096)
            {
                lua_gc(l, GcCollect);
            }
        }
    }

    public void Dispose() => state.Dispose();

    private static string ErrorText(nint thread)
    {
        var type = lua_type(thread, -1);
        return type == TypeString ? ReadString(thread, -1) : $"script raised an error value of type {TypeName(type)}";
    }

    /// <summary>Pushes the compiled script (cached by text); returns the syntax error instead when it does not compile.</summary>
    private string? PushChunk(string script)
    {
        if (chunks.TryGetValue(script, out var reference))
        {
            lua_rawgeti(l, RegistryIndex, reference);
            return null;
        }

        Load(script, "=script", out var error);
        if (error is not null)
        {
            return error;
        }

        if (chunks.Count >= MaxChunks)
        {
            foreach (var r in chunks.Values)
            {
                luaL_unref(l, RegistryIndex, r);
            }

            chunks.Clear();
        }

        lua_pushvalue(l, -1);
        chunks[script] = luaL_ref(l, RegistryIndex);
        return null;
    }

    // Text only ("t"): precompiled bytecode can break the VM's safety checks.
    private void Load(string source, string name, out string? error)
    {
        var bytes = Encoding.UTF8.GetBytes(source);
        int status;
        fixed (byte* p = bytes)
        {
            status = luaL_loadbufferx(l, p, (nuint)bytes.Length, name, "t");
        }

        if (status == Ok)
        {
            error = null;
            return;
        }

        error = lua_type(l, -1) == TypeString ? ReadString(l, -1) : "cannot load the script";
        Pop(l, 1);
    }

    [UnmanagedCallersOnly]
    private static void* Allocate(void* ud, void* ptr, nuint oldSize, nuint newSize)
    {
        var b = (Budget*)ud;
        var old = ptr is null ? 0 : (long)oldSize;
        if (newSize == 0)
        {
            NativeMemory.Free(ptr);
            b->Used -= old;
            return null;
        }

        var grow = (long)newSize - old;
        if (b->Enforce != 0 && grow > 0 && b->Used + grow > b->MemoryLimit)
        {
            return null;
        }

        var result = NativeMemory.Realloc(ptr, newSize);
        if (result is not null)
        {
            b->Used += grow;
        }

        return result;
    }

    [UnmanagedCallersOnly]
    private static void Hook(nint thread, nint debug)
    {
        void* ud;
        lua_getallocf(thread, &ud);
        var b = (Budget*)ud;
        b->Instructions += HookInterval;
        if (b->Instructions < b->InstructionLimit)
        {
            return;
        }

        b->Exhausted = 1;

        // Inside a hook lua_yield only flags the coroutine (the VM unwinds after the hook returns). Where a yield
        // is not allowed the hook just returns and fires again after the next interval.
        if (lua_isyieldable(thread) != 0)
        {
            lua_yieldk(thread, 0, 0, 0);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Budget
    {
        public long Used;
        public long MemoryLimit;
        public long Instructions;
        public long InstructionLimit;
        public int Enforce;
        public int Exhausted;
    }

    private sealed class StateHandle : SafeHandle
    {
        public StateHandle(nint handle, Budget* budget)
            : base(0, ownsHandle: true)
        {
            SetHandle(handle);
            Limits = budget;
        }

        public Budget* Limits { get; }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            lua_close(handle);
            NativeMemory.Free(Limits);
            return true;
        }
    }
}
