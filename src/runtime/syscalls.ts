// mount(2), umount2(2) and namespaces through koffi: they live in common/syscalls.ts (the network layer unmounts
// namespace files too, and may import only common/); re-exported here for runtime/'s users.
export * from '../common/syscalls';
