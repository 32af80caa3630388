import type { BuildOptions, Plugin } from 'esbuild';

export declare const CLI_BUNDLE: string;
export declare const cliBundleOptions: BuildOptions;
export declare const dependencyStartupPlugin: Plugin;
