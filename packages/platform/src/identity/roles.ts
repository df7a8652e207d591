/** The roles of CONTRACT §5.4, carried by access tokens as `tipo_usuario`. */
export const TIPOS_USUARIO = ['cliente', 'empleado', 'administrador'] as const;
export type TipoUsuario = (typeof TIPOS_USUARIO)[number];

export const isTipoUsuario = (value: unknown): value is TipoUsuario =>
  (TIPOS_USUARIO as readonly unknown[]).includes(value);
