using System.Runtime.InteropServices;

namespace EventGateway.Languages.Lua;

/// <summary>
/// The few Lua 5.4 C API entry points the sandbox needs, bound to the <c>liblua54</c> that the NLua/KeraLua
/// packages ship. NLua's own object bridge is deliberately not used: it exposes CLR types to scripts and
/// raises Lua errors by longjmp-ing across managed frames, which a sandbox can afford neither of.
/// </summary>
internal static unsafe partial class LuaNative
{
    private const string Library = "lua54";

    public const int RegistryIndex = -1000000 - 1000;
    public const int Ok = 0;
    public const int Yield = 1;
    public const int ErrorMemory = 4;
    public const int TypeNil = 0;
    public const int TypeBoolean = 1;
    public const int TypeNumber = 3;
    public const int TypeString = 4;
    public const int TypeTable = 5;
    public const int TypeFunction = 6;
    public const int MaskCount = 1 << 3;
    public const int GcCollect = 2;
    public const int GcCount = 3;

    private static readonly Lazy<nint> Handle = new(() =>
        NativeLibrary.Load(Library, typeof(LuaNative).Assembly, null));

    /// <summary>A <c>luaopen_*</c> function, for <c>luaL_requiref</c>.</summary>
    public static nint OpenFunction(string name) => NativeLibrary.GetExport(Handle.Value, "luaopen_" + name);

    [LibraryImport(Library)]
    public static partial nint lua_newstate(delegate* unmanaged<void*, void*, nuint, nuint, void*> alloc, void* ud);

    [LibraryImport(Library)]
    public static partial void lua_close(nint l);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void luaL_requiref(nint l, string name, nint open, int global);

    [LibraryImport(Library)]
    public static partial int lua_gettop(nint l);

    [LibraryImport(Library)]
    public static partial void lua_settop(nint l, int index);

    [LibraryImport(Library)]
    public static partial int lua_checkstack(nint l, int n);

    [LibraryImport(Library)]
    public static partial void lua_pushvalue(nint l, int index);

    [LibraryImport(Library)]
    public static partial void lua_pushnil(nint l);

    [LibraryImport(Library)]
    public static partial void lua_pushboolean(nint l, int b);

    [LibraryImport(Library)]
    public static partial void lua_pushinteger(nint l, long n);

    [LibraryImport(Library)]
    public static partial void lua_pushnumber(nint l, double n);

    [LibraryImport(Library)]
    public static partial byte* lua_pushlstring(nint l, byte* s, nuint length);

    [LibraryImport(Library)]
    public static partial void lua_createtable(nint l, int arrayCount, int recordCount);

    [LibraryImport(Library)]
    public static partial void lua_rawset(nint l, int index);

    [LibraryImport(Library)]
    public static partial void lua_rawseti(nint l, int index, long n);

    [LibraryImport(Library)]
    public static partial int lua_rawget(nint l, int index);

    [LibraryImport(Library)]
    public static partial int lua_rawgeti(nint l, int index, long n);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void lua_setfield(nint l, int index, string key);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lua_getfield(nint l, int index, string key);

    [LibraryImport(Library)]
    public static partial int lua_setmetatable(nint l, int index);

    [LibraryImport(Library)]
    public static partial int lua_getmetatable(nint l, int index);

    [LibraryImport(Library)]
    public static partial int lua_type(nint l, int index);

    [LibraryImport(Library)]
    public static partial int lua_toboolean(nint l, int index);

    [LibraryImport(Library)]
    public static partial int lua_isinteger(nint l, int index);

    [LibraryImport(Library)]
    public static partial long lua_tointegerx(nint l, int index, int* isNumber);

    [LibraryImport(Library)]
    public static partial double lua_tonumberx(nint l, int index, int* isNumber);

    [LibraryImport(Library)]
    public static partial byte* lua_tolstring(nint l, int index, nuint* length);

    [LibraryImport(Library)]
    public static partial nint lua_topointer(nint l, int index);

    [LibraryImport(Library)]
    public static partial int lua_next(nint l, int index);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int luaL_loadbufferx(nint l, byte* buffer, nuint size, string name, string mode);

    [LibraryImport(Library)]
    public static partial int lua_pcallk(nint l, int args, int results, int handler, nint context, nint continuation);

    [LibraryImport(Library)]
    public static partial int luaL_ref(nint l, int table);

    [LibraryImport(Library)]
    public static partial void luaL_unref(nint l, int table, int reference);

    [LibraryImport(Library)]
    public static partial nint lua_newthread(nint l);

    [LibraryImport(Library)]
    public static partial void lua_xmove(nint from, nint to, int n);

    [LibraryImport(Library)]
    public static partial int lua_resume(nint l, nint from, int args, int* results);

    [LibraryImport(Library)]
    public static partial void lua_sethook(nint l, delegate* unmanaged<nint, nint, void> hook, int mask, int count);

    [LibraryImport(Library)]
    public static partial int lua_yieldk(nint l, int results, nint context, nint continuation);

    [LibraryImport(Library)]
    public static partial int lua_isyieldable(nint l);

    [LibraryImport(Library)]
    public static partial nint lua_getallocf(nint l, void** ud);

    [LibraryImport(Library)]
    public static partial byte* lua_setupvalue(nint l, int function, int n);

    [LibraryImport(Library)]
    public static partial int lua_gc(nint l, int what);

    public static void Pop(nint l, int n) => lua_settop(l, -n - 1);

    public static void PushString(nint l, string s)
    {
        var count = System.Text.Encoding.UTF8.GetByteCount(s);
        if (count <= 256)
        {
            var buffer = stackalloc byte[count];
            System.Text.Encoding.UTF8.GetBytes(s, new Span<byte>(buffer, count));
            lua_pushlstring(l, buffer, (nuint)count);
            return;
        }

        var bytes = System.Text.Encoding.UTF8.GetBytes(s);
        fixed (byte* p = bytes)
        {
            lua_pushlstring(l, p, (nuint)bytes.Length);
        }
    }

    /// <summary>The string at <paramref name="index"/>; call only on strings (on a number Lua would convert it in place).</summary>
    public static string ReadString(nint l, int index)
    {
        nuint length;
        var p = lua_tolstring(l, index, &length);
        return p is null ? string.Empty : System.Text.Encoding.UTF8.GetString(p, checked((int)length));
    }

    public static string TypeName(int type) => type switch
    {
        0 => "nil",
        1 => "boolean",
        2 => "userdata",
        3 => "number",
        4 => "string",
        5 => "table",
        6 => "function",
        7 => "userdata",
        8 => "thread",
        _ => "no value",
    };
}
