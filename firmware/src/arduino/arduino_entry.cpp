/* Arduino framework entry points around the plain-C application in main.c. */
#if defined(ARDUINO)

extern "C" void ecqx_app_init(void);
extern "C" void ecqx_app_step(void);

void setup()
{
    ecqx_app_init();
}

void loop()
{
    ecqx_app_step();
}

#endif
