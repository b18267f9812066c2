import { Injectable, Module, type Type } from '@nestjs/common';

/** The ways a nest-kms module can be registered; every suite expects the same result from each. */
export type Registration = 'forRoot' | 'useFactory' | 'useClass' | 'useExisting';

/** A class whose `method` returns `options`: what useClass and useExisting take. */
type OptionsFactory<O, M extends string> = Record<M, () => O>;

/** The `forRootAsync` options of one async style, handing over `options` unchanged. */
export interface AsyncRegistration<O, M extends string> {
  imports?: Type[];
  useFactory?: () => Promise<O>;
  useClass?: Type<OptionsFactory<O, M>>;
  useExisting?: Type<OptionsFactory<O, M>>;
}

/**
 * `forRootAsync` options giving `options` through `style`: a factory, a class the module
 * instantiates, or an existing provider of an imported module. `method` is the module's options
 * factory method (`createKmsOptions`, `createSecretsOptions`, `createConfigOptions`).
 */
export function asyncRegistration<O, M extends string>(
  style: Exclude<Registration, 'forRoot'>,
  method: M,
  options: O,
): AsyncRegistration<O, M> {
  switch (style) {
    case 'useFactory':
      return { useFactory: async () => options };
    case 'useClass':
      return { useClass: optionsFactory(method, options) };
    case 'useExisting': {
      const existing = optionsFactory(method, options);
      @Module({ providers: [existing], exports: [existing] })
      class OptionsModule {}
      return { imports: [OptionsModule], useExisting: existing };
    }
  }
}

function optionsFactory<O, M extends string>(method: M, options: O): Type<OptionsFactory<O, M>> {
  @Injectable()
  class OptionsFactoryProvider {}
  Object.defineProperty(OptionsFactoryProvider.prototype, method, { value: () => options });
  return OptionsFactoryProvider as Type<OptionsFactory<O, M>>;
}
