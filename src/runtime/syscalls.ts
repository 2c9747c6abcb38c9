// mount(2) and umount2(2): they live in common/syscalls.ts (the network layer unmounts too, and may import only
// common/); re-exported here for runtime/'s users.
export { libcCalls, mountSyscall, umountSyscall, MNT_DETACH, SyscallError } from '../common/syscalls';
